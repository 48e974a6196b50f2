"""What every channel checks in a person's message before Rasa sees it.

A message that is empty gets a gentle prompt, and one over the length limit a polite limit,
instead of being processed; but a long message that holds a red flag is always processed, so
its warning goes out (safety rule 1). Typed text never passes for a button payload: Rasa reads a
leading "/" as an intent and would skip the NLU pipeline, and with it the red-flag check.
"""

from __future__ import annotations

import logging
from functools import lru_cache

from pain_assistant import red_flags
from pain_assistant.validation import KnowledgeError

logger = logging.getLogger(__name__)

MAX_CHARACTERS = 5000
TOO_LONG_REPLY = (
    "Sorry, that message is too long for me to read. Please keep messages under 5,000 characters, "
    "or ask one question at a time. If you or someone else needs help right now, call your local "
    "emergency number."
)
EMPTY_PROMPT = (
    "I can only read typed words, and I didn't find any in that message. What would you like to "
    "know about pain in MS? For example: why do my legs hurt?"
)


@lru_cache(maxsize=1)
def detector() -> red_flags.RedFlagDetector:
    """The red-flag file, read once per process and shared by every channel."""
    return red_flags.load()


def holds_a_red_flag(text: str) -> bool:
    """Whether `text` raises a red flag. If the red-flag file cannot be read (an editor's change
    saved half-done while the server runs), assume it does: the message then goes on to Rasa,
    whose model keeps the copy of the file it was trained with."""
    try:
        return bool(detector().detect(text))
    except KnowledgeError as error:
        logger.error("The red-flag file cannot be read, so every message goes on to the model: %s", error)
        return True


def typed_text(text: str) -> str:
    """Text a person typed, made safe to hand to Rasa: no leading "/" to pose as a payload."""
    return text.strip().lstrip("/").strip()


def unless_it_hides_a_red_flag(text: str) -> str:
    """For channels that cannot tell typed text from a button payload (REST): keep a "/" payload
    as it is, unless it holds a red flag, which must go through the NLU and get its warning."""
    if text.lstrip().startswith("/") and holds_a_red_flag(text):
        return typed_text(text)
    return text


def reply_instead(text: str) -> str | None:
    """The prompt or limit to send instead of processing `text`, or None to process it."""
    if not text.strip():
        return EMPTY_PROMPT
    if len(text) > MAX_CHARACTERS and not holds_a_red_flag(text):
        return TOO_LONG_REPLY
    return None
