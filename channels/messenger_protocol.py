"""Facebook Messenger's wire protocol, as plain Python with no Rasa and no network.

Everything that can be got wrong about Messenger lives here, where unit tests reach it: the
webhook's signature and verify handshake, which events of a notification are messages from a
person, Messenger's limits on what we send (2,000 characters of text, 13 quick replies with
20-character titles), and the Send API's request body. `channels.messenger` wires it to Rasa.

Shapes follow Meta's Messenger Platform documentation: webhook notifications
`{"object": "page", "entry": [{"id", "time", "messaging": [event, ...]}]}`, each event with a
`sender.id` (the person's page-scoped id) and one of `message`, `postback`, `delivery`, `read`...;
Send API requests `{"recipient": {"id"}, "messaging_type": "RESPONSE", "message": {...}}`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import unicodedata
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from channels.json_body import BadRequest, is_json, json_object  # noqa: F401 (the channel's API)
from pain_assistant.incoming import typed_text

VERIFY_TOKEN_VARIABLE = "MESSENGER_VERIFY_TOKEN"
APP_SECRET_VARIABLE = "MESSENGER_APP_SECRET"
PAGE_ACCESS_TOKEN_VARIABLE = "MESSENGER_PAGE_ACCESS_TOKEN"
GRAPH_URL_VARIABLE = "MESSENGER_GRAPH_URL"
DEFAULT_GRAPH_URL = "https://graph.facebook.com/v19.0"

SIGNATURE_HEADER = "X-Hub-Signature-256"
SIGNATURE_PREFIX = "sha256="
# Meta resends a notification that is not answered with 200 quickly; this is its documented body.
EVENT_RECEIVED = "EVENT_RECEIVED"

MAX_TEXT_CHARACTERS = 2000
MAX_QUICK_REPLIES = 13
MAX_QUICK_REPLY_TITLE = 20
MAX_QUICK_REPLY_PAYLOAD = 1000
ELLIPSIS = "…"

CHANNEL_OFF = (
    f"The Messenger channel is off: set {VERIFY_TOKEN_VARIABLE}, {APP_SECRET_VARIABLE} and "
    f"{PAGE_ACCESS_TOKEN_VARIABLE} and restart the assistant."
)

@dataclass(frozen=True)
class Settings:
    """What the channel needs from Meta's App Dashboard; secrets stay out of the repr (and logs)."""

    verify_token: str = field(repr=False)
    app_secret: str = field(repr=False)
    page_access_token: str = field(repr=False)
    graph_url: str = DEFAULT_GRAPH_URL

    @classmethod
    def from_environment(cls, environment: Mapping[str, str]) -> Settings | None:
        """The settings, or None (the channel is off) unless all three secrets are set."""
        verify_token = environment.get(VERIFY_TOKEN_VARIABLE, "")
        app_secret = environment.get(APP_SECRET_VARIABLE, "")
        page_access_token = environment.get(PAGE_ACCESS_TOKEN_VARIABLE, "")
        if not (verify_token and app_secret and page_access_token):
            return None
        graph_url = environment.get(GRAPH_URL_VARIABLE) or DEFAULT_GRAPH_URL
        return cls(verify_token, app_secret, page_access_token, graph_url)

    @property
    def send_url(self) -> str:
        return f"{self.graph_url.rstrip('/')}/me/messages"


@dataclass(frozen=True)
class Incoming:
    """One message from a person: typed text, or the payload of a quick reply or postback."""

    sender_id: str
    text: str
    message_id: str | None = None


class RecentMessageIds:
    """The ids of the last messages answered. Meta resends a notification it thinks went
    undelivered, and a person must not get the same answer twice; messages without an id always pass."""

    def __init__(self, size: int = 10_000) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._size = size

    def new(self, messages: Iterable[Incoming]) -> list[Incoming]:
        """The messages not seen before, remembered from now on."""
        fresh = []
        for message in messages:
            if message.message_id is None or message.message_id not in self._ids:
                fresh.append(message)
            if message.message_id is not None:
                self._ids[message.message_id] = None
                self._ids.move_to_end(message.message_id)
        while len(self._ids) > self._size:
            self._ids.popitem(last=False)
        return fresh


def sign(body: bytes, app_secret: str) -> str:
    """The X-Hub-Signature-256 value Meta sends: HMAC-SHA256 of the raw body, keyed by the app secret."""
    return SIGNATURE_PREFIX + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def signature_matches(body: bytes, header: str | None, app_secret: str) -> bool:
    """Whether `header` signs exactly these bytes, compared in constant time."""
    if not header:
        return False
    return hmac.compare_digest(sign(body, app_secret).encode(), header.strip().encode("utf-8", "replace"))


def handshake_challenge(mode: str | None, token: str | None, challenge: str | None, verify_token: str) -> str | None:
    """The challenge to echo if this is Meta's verify request with our token, else None."""
    if mode != "subscribe" or not token or not challenge:
        return None
    if not hmac.compare_digest(token.encode("utf-8", "replace"), verify_token.encode()):
        return None
    return challenge


def parse_notification(body: bytes) -> dict[str, Any]:
    """The notification in a signed body; BadRequest if it is not a Page notification."""
    notification = json_object(body, "a Page notification")
    if notification.get("object") != "page":
        raise BadRequest('Only Page notifications are accepted: "object" must be "page".')
    if not isinstance(notification.get("entry"), list):
        raise BadRequest('A Page notification needs an "entry" list.')
    return notification


def incoming_messages(notification: Mapping[str, Any]) -> list[Incoming]:
    """Every message from a person in every entry, in order; all other events are left out.

    Entries without `messaging` (standby, changes) are skipped rather than failing the batch
    (Rasa issue #10456); so are events of unexpected shape.
    """
    found = []
    for entry in notification["entry"]:
        events = entry.get("messaging") if isinstance(entry, dict) else None
        for event in events if isinstance(events, list) else []:
            incoming = _incoming(event)
            if incoming is not None:
                found.append(incoming)
    return found


def _incoming(event: Any) -> Incoming | None:
    if not isinstance(event, dict):
        return None
    sender_id = _field(event, "sender", "id")
    if not isinstance(sender_id, str) or not sender_id:
        return None
    message, postback = event.get("message"), event.get("postback")
    if isinstance(message, dict):
        if message.get("is_echo"):  # our own reply, sent back to us
            return None
        payload = _field(message, "quick_reply", "payload")
        typed = message.get("text")
        text = payload if isinstance(payload, str) and payload else typed_text(typed) if isinstance(typed, str) else None
        message_id = message.get("mid")
    elif isinstance(postback, dict):
        text = postback.get("payload") or postback.get("title")
        message_id = postback.get("mid")
    else:  # delivery, read, reaction, referral, optin...
        return None
    text = text.strip() if isinstance(text, str) else ""
    return Incoming(sender_id, text, message_id if isinstance(message_id, str) else None)


def _field(event: Mapping[str, Any], outer: str, inner: str) -> Any:
    value = event.get(outer)
    return value.get(inner) if isinstance(value, dict) else None


def by_sender(messages: Iterable[Incoming]) -> dict[str, list[Incoming]]:
    """Messages grouped per person, each group in the order the person sent them."""
    groups: dict[str, list[Incoming]] = {}
    for message in messages:
        groups.setdefault(message.sender_id, []).append(message)
    return groups


def outgoing_messages(text: str, buttons: Iterable[Mapping[str, Any]] = ()) -> list[dict[str, Any]]:
    """Send API `message` objects for one Rasa reply: the text in pieces Messenger accepts,
    the buttons as quick replies on the last piece (Messenger shows them under the newest message).
    Quick replies cannot be sent without text, so a reply with no text sends nothing."""
    messages: list[dict[str, Any]] = [{"text": piece} for piece in split_text(text)]
    choices = quick_replies(buttons)
    if messages and choices:
        messages[-1]["quick_replies"] = choices
    return messages


def quick_replies(buttons: Iterable[Mapping[str, Any]]) -> list[dict[str, str]]:
    """Rasa buttons as text quick replies, at most 13. A button Messenger would refuse (no title,
    no payload, a payload over 1,000 characters) is left out rather than losing the whole message."""
    choices = []
    for button in buttons:
        title = truncate_title(str(button.get("title") or ""))
        payload = button.get("payload")
        if title and isinstance(payload, str) and 0 < len(payload) <= MAX_QUICK_REPLY_PAYLOAD:
            choices.append({"content_type": "text", "title": title, "payload": payload})
    return choices[:MAX_QUICK_REPLIES]


def truncate_title(title: str, limit: int = MAX_QUICK_REPLY_TITLE) -> str:
    """A title of at most `limit` characters: cut at a word where possible, marked with an ellipsis,
    never between a letter and its accent or inside an emoji sequence."""
    title = " ".join(title.split())
    if len(title) <= limit:
        return title
    end = _safe_end(title, limit - len(ELLIPSIS))
    space = title.rfind(" ", 0, end + 1)
    if space >= limit // 2:
        end = space
    return title[:end].rstrip(" ,;:&/-") + ELLIPSIS


def split_text(text: str, limit: int = MAX_TEXT_CHARACTERS) -> list[str]:
    """`text` in pieces of at most `limit` characters, split after a sentence or paragraph where
    possible, else between words, else anywhere that does not break a character sequence."""
    pieces = []
    rest = text.strip()
    while len(rest) > limit:
        end = _split_point(rest, limit)
        pieces.append(rest[:end].rstrip())
        rest = rest[end:].lstrip()
    if rest:
        pieces.append(rest)
    return pieces


_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
_SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*(?=\s)")
_SPACE = re.compile(r"\s")


def _split_point(text: str, limit: int) -> int:
    boundaries = [match.start() for match in _PARAGRAPH_BREAK.finditer(text, 0, limit + 1)]
    boundaries += [match.end() for match in _SENTENCE_END.finditer(text, 0, limit + 1)]
    sentence_ends = [end for end in boundaries if 0 < end <= limit]
    if sentence_ends:
        return max(sentence_ends)
    spaces = [match.start() for match in _SPACE.finditer(text, 1, limit + 1)]
    if spaces:
        return spaces[-1]
    return _safe_end(text, limit) or limit


_JOINER = "\u200d"


def _safe_end(text: str, end: int) -> int:
    """`end`, moved back so that text[:end] does not split a letter from its accent or an emoji
    from its modifier, variation selector or zero-width joiner."""
    while 0 < end < len(text) and (_extends(text[end]) or text[end - 1] == _JOINER):
        end -= 1
    return end


def _extends(character: str) -> bool:
    return (
        unicodedata.category(character) in ("Mn", "Mc", "Me")
        or character == _JOINER
        or "\ufe00" <= character <= "\ufe0f"
        or "\U0001f3fb" <= character <= "\U0001f3ff"
    )


def send_request(recipient_id: str, message: Mapping[str, Any]) -> dict[str, Any]:
    """The Send API body for a reply to a person's message (within Messenger's 24-hour window)."""
    return {"recipient": {"id": recipient_id}, "messaging_type": "RESPONSE", "message": dict(message)}


def graph_error(body: bytes) -> str:
    """The useful part of a Graph API error answer, for the log."""
    try:
        error = json.loads(body)["error"]
        return f"{error.get('type', 'error')} {error.get('code', '?')}: {error.get('message', '')}"
    except (ValueError, KeyError, TypeError, AttributeError):
        return body[:300].decode("utf-8", "replace")
