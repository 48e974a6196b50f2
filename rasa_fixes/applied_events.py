"""Rasa's `DialogueStateTracker.applied_events`, remembered between calls on the same tracker.

Each call replays the whole conversation (a few `isinstance` checks per event), and one turn calls
it again and again: the check-in policy and the rule states for every prediction, the payload for
the action server, the session check. In 60-message conversations that was a tenth of the
server's time (py-spy, `make bench`). A tracker's events only grow, by `update` appending; so the
last answer is kept on the tracker with the events it covered, and a call after more events were
appended replays only the new ones, unless one of them can change what came before (a restart, a
new session, a revert, a form starting or stopping, a form's own action), when the whole
conversation is replayed as Rasa does. The caller always gets a list of its own.
"""

from __future__ import annotations

from itertools import islice
from typing import Any

from rasa.shared.core.events import (
    ActionExecuted,
    ActionReverted,
    ActiveLoop,
    Event,
    Restarted,
    SessionStarted,
    UserUtteranceReverted,
)
from rasa.shared.core.trackers import DialogueStateTracker

RASA_OWN = DialogueStateTracker.applied_events
_REWRITES = (Restarted, SessionStarted, ActionReverted, UserUtteranceReverted, ActiveLoop)
_KEPT = "_rasa_fixes_applied_events"


def applied_events(tracker: DialogueStateTracker) -> list[Event]:
    """What Rasa's `applied_events` returns, replaying only the events appended since the last call."""
    events = tracker.events
    kept = tracker.__dict__.get(_KEPT)
    if kept is not None:
        same_events, count, last, applied, loops = kept
        if same_events is events and 0 < count <= len(events) and events[count - 1] is last:
            new = list(islice(events, count, None))
            if not any(_may_rewrite(event, loops) for event in new):
                applied = applied + new
                _keep(tracker, events, applied, loops)
                return list(applied)
    applied = RASA_OWN(tracker)
    loops = frozenset(event.name for event in events if isinstance(event, ActiveLoop) and event.name)
    _keep(tracker, events, applied, loops)
    return list(applied)


def _may_rewrite(event: Event, loops: frozenset[str]) -> bool:
    return isinstance(event, _REWRITES) or (isinstance(event, ActionExecuted) and event.action_name in loops)


def _keep(tracker: DialogueStateTracker, events: Any, applied: list[Event], loops: frozenset[str]) -> None:
    tracker.__dict__[_KEPT] = (events, len(events), events[-1] if events else None, applied, loops)
