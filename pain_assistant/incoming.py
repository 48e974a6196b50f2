"""What every channel checks in what a client sends before Rasa sees it.

Everything a client sends is bounded before anything reads it: a message over the length limit
is read for red flags only in its first and last RED_FLAG_WINDOW characters, so the warning never
waits on a megabyte of text, and otherwise gets a polite limit; metadata has a size and a depth
limit; and text that cannot be stored (a lone surrogate, which no UTF-8 database takes) is
refused, naming the field, instead of failing in the conversation store. An empty message gets a
gentle prompt. Typed text never passes for a button payload: Rasa reads a leading "/" as an
intent and would skip the NLU pipeline, and with it the red-flag check.

The red-flag detector is the one the running model was trained with (`SafetyOverride` hands it
over when the model loads), so the channels and the model cannot disagree; a process with no
model (tests, tools) reads the file.
"""

from __future__ import annotations

import json
import logging
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pain_assistant import red_flags
from pain_assistant.validation import KnowledgeError

logger = logging.getLogger(__name__)

MAX_CHARACTERS = 5000
# Of a longer message, this much of its start and of its end is read for red flags: where people
# put what matters most, and little enough that the warning is never slow.
RED_FLAG_WINDOW = 2000
WINDOW_JOIN = "\n…\n"
MAX_SENDER_ID_CHARACTERS = 128
MAX_METADATA_BYTES = 4096
MAX_DEPTH = 8

TOO_LONG_REPLY = (
    "Sorry, that message is too long for me to read. Please keep messages under 5,000 characters, "
    "or ask one question at a time. If you or someone else needs help right now, call your local "
    "emergency number."
)
EMPTY_PROMPT = (
    "I can only read typed words, and I didn't find any in that message. What would you like to "
    "know about pain in MS? For example: why do my legs hurt?"
)
UNREADABLE = "Sorry, I could not read that message. Please type your question again."

_model_detector: red_flags.RedFlagDetector | None = None


def use_model_detector(model_detector: red_flags.RedFlagDetector) -> None:
    """Called as a model loads: from then on, the channels check with the model's own detector."""
    global _model_detector
    _model_detector = model_detector


@lru_cache(maxsize=1)
def _file_detector() -> red_flags.RedFlagDetector:
    return red_flags.load()


def detector() -> red_flags.RedFlagDetector:
    """The loaded model's red-flag detector, or, with no model in this process, the file's."""
    return _model_detector or _file_detector()


def holds_a_red_flag(text: str) -> bool:
    """Whether `text` raises a red flag. If the red-flag file cannot be read (an editor's change
    saved half-done), assume it does: the message then goes on to Rasa, whose model keeps the copy
    of the file it was trained with."""
    try:
        return bool(detector().detect(text))
    except KnowledgeError as error:
        logger.error("The red-flag file cannot be read, so every message goes on to the model: %s", error)
        return True


def typed_text(text: str) -> str:
    """Text a person typed, made safe to hand to Rasa: no leading "/" to pose as a payload."""
    return text.strip().lstrip("/").strip()


def unless_it_hides_a_red_flag(text: str) -> str:
    """For channels that cannot tell typed text from a button payload (REST, web chat): keep a "/"
    payload as it is, unless it holds a red flag, which must go through the NLU and get its warning."""
    if text.lstrip().startswith("/") and holds_a_red_flag(text):
        return typed_text(text)
    return text


def red_flag_window(text: str) -> str:
    """What is read of a message over the limit: its start and its end."""
    if len(text) <= MAX_CHARACTERS:
        return text
    return text[:RED_FLAG_WINDOW] + WINDOW_JOIN + text[-RED_FLAG_WINDOW:]


@dataclass(frozen=True)
class Instead:
    """A reply to send instead of processing the message."""

    reply: str


def to_process(text: str) -> str | Instead:
    """What Rasa gets of a message: the text (a long one cut to its red-flag window, since only a
    red flag lets it through), or the prompt or limit to send instead."""
    if not text.strip():
        return Instead(EMPTY_PROMPT)
    if len(text) > MAX_CHARACTERS:
        text = red_flag_window(text)
        if not holds_a_red_flag(text):
            return Instead(TOO_LONG_REPLY)
    return unless_it_hides_a_red_flag(text)


def problem_in(value: Any, field: str = "", max_depth: int = MAX_DEPTH) -> str | None:
    """Why `value`, a field of what a client sent (as JSON gives it; "" for the whole body), cannot
    be taken: a string that is not valid Unicode text, or nesting deeper than `max_depth`; None if
    it can. The answer names where in the field the problem is."""
    pending = [(value, field, 0)]
    while pending:
        item, path, depth = pending.pop()
        if depth > max_depth:
            return f"{_named(field)} is nested more than {max_depth} levels deep."
        if isinstance(item, str):
            if not _is_text(item):
                return f"{_named(path)} is not valid UTF-8 text (it holds a lone surrogate)."
        elif isinstance(item, dict):
            for key, inner in item.items():
                if isinstance(key, str) and not _is_text(key):
                    return f"A key in {_named(path)} is not valid UTF-8 text (it holds a lone surrogate)."
                pending.append((inner, f"{path}.{key}" if path else str(key), depth + 1))
        elif isinstance(item, list):
            pending.extend((inner, f"{path}[{index}]", depth + 1) for index, inner in enumerate(item))
    return None


def _named(path: str) -> str:
    return f'"{path}"' if path else "The body"


def problem_with_sender(sender_id: str) -> str | None:
    """Why a sender id cannot name a conversation: it is stored as it is, in a column of 255."""
    if len(sender_id) > MAX_SENDER_ID_CHARACTERS:
        return f'"sender" must be at most {MAX_SENDER_ID_CHARACTERS} characters.'
    if not _is_text(sender_id) or any(unicodedata.category(character) == "Cc" for character in sender_id):
        return '"sender" must be printable UTF-8 text.'
    return None


def problem_with_metadata(metadata: Any) -> str | None:
    if metadata is None:
        return None
    if not isinstance(metadata, dict):
        return '"metadata" must be a JSON object when given.'
    problem = problem_in(metadata, "metadata")
    if problem is None and len(json.dumps(metadata)) > MAX_METADATA_BYTES:
        problem = f'"metadata" must be at most {MAX_METADATA_BYTES} bytes of JSON.'
    return problem


def _is_text(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True

