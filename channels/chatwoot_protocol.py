"""Chatwoot's agent-bot protocol, as plain Python that unit tests reach without Rasa.

Chatwoot posts an agent bot's webhook for every event in its inboxes, including the bot's own
replies and the agents' messages and private notes. Conversations in an inbox with a bot start
"pending" (the bot's); the bot hands one to the agents by setting it "open", and agents can hand
it back by setting it "pending" again. So the bot answers only `message_created` events for an
incoming message from a contact, not private, in a pending conversation.

Rasa's buttons become one `input_select` message whose items' values are the payloads; channels
that send a choice back as a message send that value (the web widget updates the bot's message
instead, which this channel does not read yet).

Replies go through the conversation messages API: POST
/api/v1/accounts/{account_id}/conversations/{conversation_id}/messages, with the bot's token in
the `api_access_token` header; a status change through .../toggle_status.
Sources: github.com/chatwoot/docs, docs/product/others/agent-bots.md (pending, handoff) and
webhook-events.md (payloads); chatwoot.com/hc/user-guide/articles/1677689344-how-to-use-interactive-messages
(`input_select`); developers.chatwoot.com/api-reference/messages/create-new-message and
/conversations/toggle-status.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Collection, Iterable, Mapping

from channels.json_body import BadRequest, is_json, json_object  # noqa: F401 (the channel's API)
from pain_assistant.incoming import typed_text

URL_VARIABLE = "CHATWOOT_URL"
TOKEN_VARIABLE = "CHATWOOT_BOT_TOKEN"
TOKEN_HEADER = "api_access_token"

MESSAGE_CREATED = "message_created"
INCOMING = "incoming"
CONTACT = "contact"
PENDING = "pending"  # the bot's conversations
OPEN = "open"  # the agents'

CHANNEL_OFF = (
    f"The Chatwoot channel is off: set {URL_VARIABLE} and {TOKEN_VARIABLE} (the agent bot's access "
    "token) and restart the assistant."
)


@dataclass(frozen=True)
class Settings:
    """Where Chatwoot is and the agent bot's token; the token stays out of the repr (and logs)."""

    url: str
    token: str

    @classmethod
    def from_environment(cls, environment: Mapping[str, str]) -> Settings | None:
        url = environment.get(URL_VARIABLE, "").strip().rstrip("/")
        token = environment.get(TOKEN_VARIABLE, "").strip()
        return cls(url, token) if url and token else None

    def __repr__(self) -> str:
        return f"Settings(url={self.url!r}, token=<hidden>)"


@dataclass(frozen=True)
class Conversation:
    """A Chatwoot conversation. Its Rasa sender id is "<account id>:<conversation id>", so each
    conversation has a tracker of its own and a reply can find its way back."""

    account_id: int
    conversation_id: int

    @property
    def sender_id(self) -> str:
        return f"{self.account_id}:{self.conversation_id}"

    @property
    def messages_path(self) -> str:
        return f"/api/v1/accounts/{self.account_id}/conversations/{self.conversation_id}/messages"

    @property
    def toggle_status_path(self) -> str:
        return f"/api/v1/accounts/{self.account_id}/conversations/{self.conversation_id}/toggle_status"


@dataclass(frozen=True)
class Incoming:
    """A contact's message to answer, as written: "" for one with no words (only an attachment)."""

    conversation: Conversation
    message_id: str
    text: str


@dataclass(frozen=True)
class Webhook:
    """What an event means for the bot: `incoming` is the message to answer, or None with
    `ignored` saying why. `conversation` and `status` are there whenever the event names them."""

    conversation: Conversation | None
    status: str | None
    incoming: Incoming | None
    ignored: str = ""


def parse_body(body: bytes) -> dict[str, Any]:
    return json_object(body, "a Chatwoot webhook event")


def read_webhook(event: Mapping[str, Any]) -> Webhook:
    """Decide whether the bot answers this event."""
    conversation_data = _mapping(event.get("conversation"))
    conversation = _conversation(_mapping(event.get("account")).get("id"), conversation_data.get("id"))
    status = conversation_data.get("status") if isinstance(conversation_data.get("status"), str) else None

    def ignored(why: str) -> Webhook:
        return Webhook(conversation, status, None, why)

    if event.get("event") != MESSAGE_CREATED:
        return ignored(f"event {event.get('event')!r} is not {MESSAGE_CREATED}")
    if conversation is None:
        return ignored("no account id or conversation id")
    if event.get("message_type") != INCOMING:
        return ignored(f"message_type {event.get('message_type')!r}: only incoming messages are answered")
    if event.get("private") is not False:
        return ignored("a private note")
    if _mapping(event.get("sender")).get("type") != CONTACT:
        return ignored("not sent by a contact")
    if status != PENDING:
        return ignored(f"conversation status {status!r}: the bot answers only pending conversations")
    content = event.get("content")
    text = content if isinstance(content, str) else ""
    message_id = str(event["id"]) if _is_id(event.get("id")) else uuid.uuid4().hex
    return Webhook(conversation, status, Incoming(conversation, message_id, text))


def rasa_text(text: str, offered: Collection[str]) -> str:
    """What Rasa gets: the payload of a button the bot offered last in this conversation as it is,
    for channels that send a choice back as its value; anything else as typed text, which cannot
    pose as a payload (Rasa would read "/..." as an intent and skip the red-flag check)."""
    return text.strip() if text.strip() in offered else typed_text(text)


def offered_payloads(messages: Iterable[Mapping[str, Any]]) -> frozenset[str]:
    """The values of the options among the messages the bot sends."""
    return frozenset(
        item["value"]
        for message in messages if message.get("content_type") == "input_select"
        for item in message["content_attributes"]["items"]
    )


def text_message(text: str) -> dict[str, Any]:
    return {"content": text, "message_type": "outgoing", "private": False}


def options_message(text: str, buttons: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Rasa buttons as one `input_select` message: each an item whose value is the button's payload,
    so a choice sent back as its value reaches Rasa exactly as the button would."""
    items = [
        {"title": str(button.get("title", "")), "value": str(button.get("payload") or button.get("title", ""))}
        for button in buttons
    ]
    return {
        "content": text,
        "message_type": "outgoing",
        "private": False,
        "content_type": "input_select",
        "content_attributes": {"items": items},
    }


def private_note(text: str) -> dict[str, Any]:
    """A note only agents see."""
    return {"content": text, "message_type": "outgoing", "private": True}


def status_change(status: str) -> dict[str, str]:
    return {"status": status}


def outgoing_messages(replies: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Rasa's replies for one message as Chatwoot messages. Rasa sends each paragraph as a reply of
    its own; text replies in a row become one message (one notification for the person, one entry
    for the agents), and a reply with buttons an `input_select` message."""
    messages: list[dict[str, Any]] = []
    paragraphs: list[str] = []
    for reply in replies:
        text = str(reply.get("text") or "")
        buttons = reply.get("buttons") or []
        if buttons:
            if paragraphs:
                messages.append(text_message("\n\n".join(paragraphs)))
                paragraphs = []
            messages.append(options_message(text, buttons))
        elif text:
            paragraphs.append(text)
    if paragraphs:
        messages.append(text_message("\n\n".join(paragraphs)))
    return messages


def _conversation(account_id: Any, conversation_id: Any) -> Conversation | None:
    if _is_id(account_id) and _is_id(conversation_id):
        return Conversation(int(account_id), int(conversation_id))
    return None


def _is_id(value: Any) -> bool:
    """Chatwoot's ids are integers; its docs show some as strings of digits."""
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, str) and value.isascii() and value.isdigit())


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}
