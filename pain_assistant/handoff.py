"""When to hand a conversation to a person on a help desk, and what to tell them.

A help desk (Chatwoot) has people behind the assistant. A conversation goes to them when:
- the person asks for a human: the `ask_human` intent, or a phrase check that works whatever the
  classifier says ("talk to a human", "real person", "can I speak to someone"...);
- the assistant fails to understand twice in a row: its "not sure" reply, twice. The reply, not the
  `nlu_fallback` intent alone, counts: the leg check accepts free-text answers the classifier is
  unsure of ("maybe a little"), and those were understood;
- any red flag warned about (intent `red_flag`, flag ids in its `red_flag` entities; or a warning
  sent after a check-in question, "yes" or "not sure"), after its warning. A check-in question
  alone does not: the person has not said yet that it is happening.

Plain Python, with no Rasa: the channel passes in what Rasa made of each message.
"""

from __future__ import annotations

import enum
import re
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

from pain_assistant.red_flags import SEVERITIES
from pain_assistant.render_safety import RED_FLAG_ENTITY, RED_FLAG_INTENT, warned_flag

HUMAN_REQUEST_INTENT = "ask_human"
NOT_UNDERSTOOD_INTENT = "nlu_fallback"
# What the assistant runs when it has not understood: the nlu_fallback rule's reply, and Rasa's
# own fallback when no action is likely enough.
NOT_UNDERSTOOD_ACTIONS = frozenset({"utter_not_sure", "action_default_fallback"})
NOT_UNDERSTOOD_LIMIT = 2
TOPIC_INTENT_PREFIX = "ask_"
TOPIC_BUTTON_INTENT = "ask_topic"  # topic buttons: the topic is in the `topic` entity
LAST_MESSAGES_KEPT = 5
QUOTED_CHARACTERS = 300  # of each message in the note: the conversation itself has the rest
CONVERSATIONS_KEPT = 10_000
UNKNOWN_SEVERITY = "unknown severity"

_ASKS_FOR_HUMAN = re.compile(
    r"""
    \b(?:talk|speak|chat|get\ through|put\ me\ through|transfer\ me|connect\ me|pass\ me)\b
        (?:\W+\w+){0,4}?\W+
        (?:human|person|someone|somebody|agent|advis[oe]r|operator|staff|volunteer)s?\b
    | \b(?:real|actual|live)\W+(?:human|person|people|agent)s?\b
    | \bhuman\W+(?:being|please|agent)\b
    | \b(?:is|are)\W+there\W+(?:an?\W+)?(?:human|person|someone|somebody|anyone|anybody)\b
    | \b(?:want|need|prefer|get\W+me|give\W+me)\W+(?:an?\W+)?(?:human|person|agent|operator)\b
    | ^\W*(?:an?\W+)?(?:human|agent|operator|person)(?:\W+please)?\W*$
    """,
    re.IGNORECASE | re.VERBOSE,
)


class Reason(enum.Enum):
    """Why a conversation went to a person; the value is how the agent's note puts it."""

    RED_FLAG = "a red flag"
    HUMAN_REQUEST = "they asked to talk to a person"
    NOT_UNDERSTOOD = f"the assistant did not understand them {NOT_UNDERSTOOD_LIMIT} times in a row"


HANDOFF_NOTICE = {
    Reason.HUMAN_REQUEST: (
        "I'm passing you to a person on our team. They can see this conversation and will reply "
        "here as soon as they can."
    ),
    Reason.NOT_UNDERSTOOD: (
        "I'm sorry, I'm still not sure I understood. I'm passing you to a person on our team: they "
        "can see this conversation and will reply here as soon as they can."
    ),
    # After the warning, which must stay the first thing they read and act on.
    Reason.RED_FLAG: (
        "I've also asked a person on our team to look at this conversation. Please don't wait for "
        "them: do what the message above says now."
    ),
}


def keeps_assistant_reply(reason: Reason) -> bool:
    """A red flag's warning goes out as it is; otherwise the notice replaces the reply, which would
    ask them to rephrase or, for "talk to a person", say no person is available."""
    return reason is Reason.RED_FLAG


def asks_for_human(text: str) -> bool:
    """True for wordings of "let me talk to a person"; works before the `ask_human` intent exists
    and whatever the classifier makes of the message."""
    return bool(_ASKS_FOR_HUMAN.search(text))


@dataclass(frozen=True)
class Turn:
    """One message and what Rasa made of it: the intent, the entities as (name, value), and the
    actions it ran in reply."""

    text: str
    intent: str | None
    entities: tuple[tuple[str, str], ...] = ()
    actions: tuple[str, ...] = ()

    def entity_values(self, name: str) -> list[str]:
        return [value for entity, value in self.entities if entity == name]


@dataclass
class ConversationState:
    """What the agent's note needs, and the count of "not sure" replies in a row."""

    flags: dict[str, str] = field(default_factory=dict)  # flag id -> severity, in the order raised
    topics: list[str] = field(default_factory=list)
    last_messages: deque[str] = field(default_factory=lambda: deque(maxlen=LAST_MESSAGES_KEPT))
    not_understood_in_a_row: int = 0


class HandoffDesk:
    """Per-conversation state, kept for the most recent CONVERSATIONS_KEPT conversations."""

    def __init__(self, severities: Mapping[str, str]) -> None:
        """`severities`: flag id -> severity, from the red-flag file."""
        self._severities = dict(severities)
        self._conversations: OrderedDict[str, ConversationState] = OrderedDict()

    def record(self, conversation: str, turn: Turn) -> Reason | None:
        """Remember the turn; the reason to hand the conversation over now, if there is one."""
        state = self._state(conversation)
        state.last_messages.append(turn.text)
        found = turn.entity_values(RED_FLAG_ENTITY) if turn.intent == RED_FLAG_INTENT else []
        # A warning sent for an answer to a check-in question ("yes", "not sure") counts as well.
        flags = list(dict.fromkeys(found + [flag for action in turn.actions if (flag := warned_flag(action))]))
        for flag_id in flags:
            state.flags.setdefault(flag_id, self._severities.get(flag_id, UNKNOWN_SEVERITY))
        topic = _topic(turn)
        if topic and topic not in state.topics:
            state.topics.append(topic)
        not_understood = turn.intent == NOT_UNDERSTOOD_INTENT and bool(NOT_UNDERSTOOD_ACTIONS & set(turn.actions))
        state.not_understood_in_a_row = state.not_understood_in_a_row + 1 if not_understood else 0

        if flags:
            reason = Reason.RED_FLAG
        elif turn.intent == HUMAN_REQUEST_INTENT or asks_for_human(turn.text):
            reason = Reason.HUMAN_REQUEST
        elif state.not_understood_in_a_row >= NOT_UNDERSTOOD_LIMIT:
            reason = Reason.NOT_UNDERSTOOD
        else:
            return None
        state.not_understood_in_a_row = 0  # if the team hands it back, the count starts again
        return reason

    def summary(self, conversation: str, reason: Reason, flag_ids: Sequence[str] = ()) -> str:
        """The triage note for the agent: why, every red flag raised (id and severity, most severe
        first), the topics asked about and the person's last messages. `flag_ids`: the flags of the
        message that caused the handover, named in the first line."""
        state = self._state(conversation)
        why = reason.value
        if reason is Reason.RED_FLAG and flag_ids:
            why = "red flag " + _flag_list(flag_ids, state.flags)
        lines = [f"Handed over by the MS pain assistant: {why}."]
        if reason is Reason.RED_FLAG:
            lines.append("The assistant has sent its red-flag warning.")
        lines.append("")
        lines.append(f"Red flags in this conversation: {_flag_list(state.flags, state.flags) or 'none'}")
        lines.append(f"Topics discussed: {', '.join(state.topics) or 'none'}")
        lines.append("Their last messages, oldest first:")
        lines.extend(f"> {_quoted(message)}" for message in state.last_messages)
        return "\n".join(lines)

    def _state(self, conversation: str) -> ConversationState:
        state = self._conversations.pop(conversation, None) or ConversationState()
        self._conversations[conversation] = state  # most recent last
        while len(self._conversations) > CONVERSATIONS_KEPT:
            self._conversations.popitem(last=False)
        return state


def _flag_list(flag_ids: Iterable[str], severities: Mapping[str, str]) -> str:
    """"stroke (emergency), dvt (urgent)": most severe first."""
    def rank(flag_id: str) -> int:
        severity = severities.get(flag_id)
        return SEVERITIES.index(severity) if severity in SEVERITIES else len(SEVERITIES)

    ordered = sorted(dict.fromkeys(flag_ids), key=rank)
    return ", ".join(f"{flag_id} ({severities.get(flag_id, UNKNOWN_SEVERITY)})" for flag_id in ordered)


def _quoted(message: str) -> str:
    """On one line, and cut short if long."""
    line = " ".join(message.split())
    return line if len(line) <= QUOTED_CHARACTERS else line[:QUOTED_CHARACTERS].rstrip() + "…"


def _topic(turn: Turn) -> str | None:
    """`ask_ms_hug` -> "ms hug"; a topic button -> its topic; a medicine question -> the medicine."""
    if not turn.intent or not turn.intent.startswith(TOPIC_INTENT_PREFIX) or turn.intent == HUMAN_REQUEST_INTENT:
        return None
    named = turn.entity_values("topic") if turn.intent == TOPIC_BUTTON_INTENT else turn.entity_values("medicine")
    name = named[0] if named else turn.intent[len(TOPIC_INTENT_PREFIX):]
    return name.replace("_", " ")
