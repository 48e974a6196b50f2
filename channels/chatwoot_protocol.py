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

Anyone who finds the webhook's address could otherwise make the bot, with its own token, post into
any conversation, open it and put their words in a note to agents; so every delivery is checked
before its body is read. Chatwoot 4.13 and later sign agent-bot deliveries (pull requests 13573,
13892): `X-Chatwoot-Signature: sha256=<hex>`, the HMAC-SHA256 of "<timestamp>.<raw body>" keyed by
the bot's secret, with the Unix timestamp in `X-Chatwoot-Timestamp` (taken anew for each attempt)
and `X-Chatwoot-Delivery`, a UUID made when the event is queued and kept by its retries. Read in
Chatwoot's lib/webhooks/trigger.rb, `request_headers` (`"sha256=#{OpenSSL::HMAC.hexdigest('SHA256',
@secret, "#{ts}.#{body}")}"`, body = `@payload.to_json`, the bytes sent), in the fork
smitmartijn/chatwoot at 24175a22, and app/listeners/agent_bot_listener.rb as Chatwoot's forks carry
it (`secret: agent_bot.secret, delivery_id: SecureRandom.uuid`); PR 13573 advises refusing
timestamps older than about five minutes. Older Chatwoot signs nothing: a secret token in the webhook URL is the weaker
stand-in (it is kept wherever URLs are logged, and proves nothing about the body or its age).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import uuid
from dataclasses import dataclass, field
from typing import Any, Collection, Iterable, Mapping

from channels.json_body import BadRequest, is_json, json_object  # noqa: F401 (the channel's API)
from pain_assistant.incoming import typed_text

URL_VARIABLE = "CHATWOOT_URL"
TOKEN_VARIABLE = "CHATWOOT_BOT_TOKEN"
WEBHOOK_SECRET_VARIABLE = "CHATWOOT_WEBHOOK_SECRET"
WEBHOOK_TOKEN_VARIABLE = "CHATWOOT_WEBHOOK_TOKEN"
TOKEN_HEADER = "api_access_token"

SIGNATURE_HEADER = "X-Chatwoot-Signature"
TIMESTAMP_HEADER = "X-Chatwoot-Timestamp"
DELIVERY_HEADER = "X-Chatwoot-Delivery"
SIGNATURE_PREFIX = "sha256="
URL_TOKEN_PARAMETER = "token"
# How far a delivery's timestamp may be from this server's clock, either way: a captured delivery
# cannot be replayed later than this, and the replay memory covers the window.
TIMESTAMP_TOLERANCE_SECONDS = 300
MAX_TIMESTAMP_DIGITS = 12

MESSAGE_CREATED = "message_created"
INCOMING = "incoming"
CONTACT = "contact"
PENDING = "pending"  # the bot's conversations
OPEN = "open"  # the agents'

_HOW_TO_VERIFY = (
    f"{WEBHOOK_SECRET_VARIABLE} (the agent bot's webhook secret, Chatwoot 4.13 and later) or, for older "
    f"Chatwoot, {WEBHOOK_TOKEN_VARIABLE} (a random token also put in the bot's webhook URL as "
    f"?{URL_TOKEN_PARAMETER}=...)"
)
CHANNEL_OFF = (
    f"The Chatwoot channel is off: set {URL_VARIABLE}, {TOKEN_VARIABLE} (the agent bot's access token) "
    f"and {_HOW_TO_VERIFY}, and restart the assistant."
)
UNSIGNED = f"Unsigned delivery: {SIGNATURE_HEADER} and {TIMESTAMP_HEADER} are required."
FORGED = f"Wrong {SIGNATURE_HEADER}: the delivery is not signed with this bot's secret."
BAD_TIMESTAMP = f"{TIMESTAMP_HEADER} must be a Unix time in seconds."
STALE = (
    f"Stale delivery: {TIMESTAMP_HEADER} is more than {TIMESTAMP_TOLERANCE_SECONDS // 60} minutes from "
    "this server's clock."
)
WRONG_URL_TOKEN = f"Missing or wrong ?{URL_TOKEN_PARAMETER}= in the webhook URL."


@dataclass(frozen=True)
class Settings:
    """Where Chatwoot is, the agent bot's token, and how deliveries prove they come from Chatwoot:
    the webhook secret (signed deliveries) or else the URL token. Secrets stay out of the repr (and logs)."""

    url: str
    token: str = field(repr=False)
    webhook_secret: str = field(default="", repr=False)
    url_token: str = field(default="", repr=False)

    @classmethod
    def from_environment(cls, environment: Mapping[str, str]) -> Settings | None:
        """The settings, or None (the channel is off) unless Chatwoot's address, the bot's token and
        a way to verify deliveries are all set: an unverified webhook is never on."""
        url = environment.get(URL_VARIABLE, "").strip().rstrip("/")
        token = environment.get(TOKEN_VARIABLE, "").strip()
        webhook_secret = environment.get(WEBHOOK_SECRET_VARIABLE, "").strip()
        url_token = environment.get(WEBHOOK_TOKEN_VARIABLE, "").strip()
        if not (url and token and (webhook_secret or url_token)):
            return None
        return cls(url, token, webhook_secret, url_token)


def mode(environment: Mapping[str, str]) -> str:
    """One line for `make run`: whether the channel is on and how deliveries are verified."""
    settings = Settings.from_environment(environment)
    if settings is None:
        def unset(name: str) -> bool:
            return not environment.get(name, "").strip()

        missing = [name for name in (URL_VARIABLE, TOKEN_VARIABLE) if unset(name)]
        if unset(WEBHOOK_SECRET_VARIABLE) and unset(WEBHOOK_TOKEN_VARIABLE):
            missing.append(f"{WEBHOOK_SECRET_VARIABLE} ({WEBHOOK_TOKEN_VARIABLE} with Chatwoot before 4.13)")
        listed = ", ".join(missing[:-1]) + " and " + missing[-1] if len(missing) > 1 else missing[0]
        return f"off (set {listed} to turn it on)"
    if settings.webhook_secret:
        return f"on, signed deliveries ({SIGNATURE_HEADER} checked with {WEBHOOK_SECRET_VARIABLE})"
    return (
        f"on, URL token (weaker: the token is kept wherever URLs are logged, and deliveries are neither "
        f"signed nor dated; with Chatwoot 4.13 or later set {WEBHOOK_SECRET_VARIABLE} instead)"
    )


def signature(body: bytes, timestamp: str, secret: str) -> str:
    """The X-Chatwoot-Signature value Chatwoot sends: HMAC-SHA256 of "<timestamp>.<raw body>"."""
    return SIGNATURE_PREFIX + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def refusal(
    settings: Settings,
    body: bytes,
    *,
    signature_header: str | None,
    timestamp_header: str | None,
    url_token: str | None,
    now: float,
) -> str | None:
    """Why this delivery is refused (the 401's message), or None if it comes from our Chatwoot.
    With a webhook secret only a signed, fresh delivery passes, whatever the URL holds; the
    signature is checked before the timestamp it covers is believed."""
    if not settings.webhook_secret:
        return None if _same(url_token, settings.url_token) else WRONG_URL_TOKEN
    if not signature_header or not timestamp_header:
        return UNSIGNED
    timestamp = timestamp_header.strip()
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= MAX_TIMESTAMP_DIGITS):
        return BAD_TIMESTAMP
    if not _same(signature_header.strip(), signature(body, timestamp, settings.webhook_secret)):
        return FORGED
    if abs(now - int(timestamp)) > TIMESTAMP_TOLERANCE_SECONDS:
        return STALE
    return None


def replay_keys(delivery_id: str | None, webhook: Webhook) -> tuple[str | None, ...]:
    """What makes a delivery a repeat: its delivery id (Chatwoot's retries keep it), and for a
    message the bot would answer, the message's id (the same message in a new delivery)."""
    delivery = f"delivery {delivery_id.strip()}" if delivery_id and delivery_id.strip() else None
    incoming = webhook.incoming
    message = f"message {incoming.conversation.account_id}:{incoming.message_id}" if incoming else None
    return delivery, message


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


def _same(given: str | None, expected: str) -> bool:
    """Compared in constant time, so the answer's timing says nothing about how much was right."""
    return given is not None and hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode())


if __name__ == "__main__":
    print(mode(os.environ))
