"""Conversations kept in memory between turns, so a turn need not rebuild its conversation.

Rasa's SQL store reads every event of a conversation back on every turn, decodes each one and
replays them all into a new tracker: a fifth of the server's time per message in 20-message
conversations (README, Measurements). Here the tracker a turn leaves behind is kept, with a
stamp of what the database held for that conversation just after it was stored: how many rows
and the latest timestamp. The next turn reads that stamp again (one small query)
and gets the kept tracker only when it is unchanged, in the database (no other server, `make
purge` or forget-me has touched the conversation) and in memory (no turn changed it and then
failed before storing it). Anything else, and the conversation is read from the database as
before. The store keeps a tracker only when it is exactly what reading the database would give
(stores/tracker_store.py says when); tests/test_tracker_cache.py compares the two turn by turn.

Bounded: at most MAX_CONVERSATIONS, none idle for longer than MAX_IDLE_S.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable, NamedTuple, Optional, Sequence

from rasa.shared.core.events import Event
from rasa.shared.core.trackers import DialogueStateTracker

MAX_CONVERSATIONS = 256
MAX_IDLE_S = 30 * 60


class Stamp(NamedTuple):
    """What the database holds for one conversation: how many rows, and the latest timestamp
    (a conversation deleted and begun again with as many rows has later ones)."""

    rows: int
    last_timestamp: Optional[float]

    def after(self, events: Sequence[Event]) -> Stamp:
        """The stamp once `events` are stored too."""
        return Stamp(self.rows + len(events), max((self.last_timestamp or 0.0, *(e.timestamp for e in events))))


class Stored(NamedTuple):
    """What was in the database when a tracker was kept: how many of its events, and the stamp."""

    events: int
    stamp: Stamp


@dataclass
class _Kept:
    tracker: DialogueStateTracker
    stored_events: int
    last_event: Optional[Event]
    stamp: Stamp
    used_at: float

    def unchanged_in_memory(self) -> bool:
        events = self.tracker.events
        return len(events) == self.stored_events and (events[-1] if events else None) is self.last_event


class TrackerCache:
    def __init__(self, max_conversations: int = MAX_CONVERSATIONS, max_idle_s: float = MAX_IDLE_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._kept: OrderedDict[str, _Kept] = OrderedDict()
        self._max_conversations = max_conversations
        self._max_idle_s = max_idle_s
        self._clock = clock

    def __len__(self) -> int:
        return len(self._kept)

    def get(self, sender_id: str, stamp: Stamp) -> Optional[DialogueStateTracker]:
        """The kept tracker if the database and the tracker are as they were when it was kept;
        otherwise None, and it is let go."""
        self._let_go_of_idle()
        kept = self._kept.pop(sender_id, None)
        if kept is None or kept.stamp != stamp or not kept.unchanged_in_memory():
            return None
        kept.used_at = self._clock()
        self._kept[sender_id] = kept
        return kept.tracker

    def keep(self, tracker: DialogueStateTracker, stamp: Stamp) -> None:
        """Keep `tracker`, which must equal what the database now holds, as stamped."""
        events = tracker.events
        self._kept.pop(tracker.sender_id, None)
        self._kept[tracker.sender_id] = _Kept(tracker, len(events), events[-1] if events else None, stamp, self._clock())
        while len(self._kept) > self._max_conversations:
            self._kept.popitem(last=False)

    def stored(self, tracker: DialogueStateTracker) -> Optional[Stored]:
        """What the database held when this very tracker was kept; None if it is not the one kept."""
        kept = self._kept.get(tracker.sender_id)
        return Stored(kept.stored_events, kept.stamp) if kept is not None and kept.tracker is tracker else None

    def let_go(self, sender_id: str) -> None:
        self._kept.pop(sender_id, None)

    def _let_go_of_idle(self) -> None:
        oldest_kept = self._clock() - self._max_idle_s
        while self._kept and next(iter(self._kept.values())).used_at < oldest_kept:
            self._kept.popitem(last=False)
