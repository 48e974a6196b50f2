"""A local stand-in for Chatwoot: the API endpoints the channel calls, recording every call, and
the `message_created` webhook events Chatwoot posts to an agent bot, signed as Chatwoot signs them.

Shapes from Chatwoot's docs: the message_created payload (github.com/chatwoot/docs,
docs/product/others/webhook-events.md); create message and toggle status with their responses
(developers.chatwoot.com/api-reference/messages/create-new-message, .../conversations/toggle-status).
Signing from Chatwoot's lib/webhooks/trigger.rb (`request_headers`, 4.13 and later), written here
on its own rather than with the channel's code, so a mistake in one does not hide in the other.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

from tests.json_handler import JsonHandler

TOKEN = "stand-in-bot-token"
WEBHOOK_SECRET = "stand-in-webhook-secret"
ACCOUNT_ID = 7
INBOX_ID = 3
WAIT_TIMEOUT = 120
STATUSES = ("open", "resolved", "pending", "snoozed")

_ROUTE = re.compile(r"^/api/v1/accounts/(\d+)/conversations/(\d+)/(messages|toggle_status)$")
_message_ids = itertools.count(1000)


@dataclass(frozen=True)
class Call:
    """One API call the stand-in received: `kind` is "messages" or "toggle_status"."""

    kind: str
    account_id: int
    conversation_id: int
    body: dict[str, Any]

    @property
    def is_public_message(self) -> bool:
        return self.kind == "messages" and self.body.get("private") is False

    @property
    def is_private_note(self) -> bool:
        return self.kind == "messages" and self.body.get("private") is True


class ChatwootStandIn:
    """Runs in a thread on a free port. Conversations start pending; toggle_status changes them.
    Calls for a conversation in `failing` are recorded and answered 500."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: list[Call] = []
        self._statuses: dict[int, str] = {}
        self.failing: set[int] = set()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> ChatwootStandIn:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def calls(self, conversation_id: int) -> list[Call]:
        with self._lock:
            return [call for call in self._calls if call.conversation_id == conversation_id]

    def status(self, conversation_id: int) -> str:
        with self._lock:
            return self._statuses.get(conversation_id, "pending")

    def set_status(self, conversation_id: int, status: str) -> None:
        """What an agent does in Chatwoot's dashboard, e.g. hand a conversation back to the bot."""
        with self._lock:
            self._statuses[conversation_id] = status

    def wait_for(
        self, conversation_id: int, done: Callable[[list[Call]], bool], timeout: float = WAIT_TIMEOUT
    ) -> list[Call]:
        """The conversation's calls once `done` says so; fails after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            calls = self.calls(conversation_id)
            if done(calls):
                return calls
            if time.monotonic() > deadline:
                raise AssertionError(f"conversation {conversation_id}: still waiting after {timeout}s: {calls}")
            time.sleep(0.2)

    def message_created(
        self,
        conversation_id: int,
        content: str | None,
        *,
        message_type: str = "incoming",
        sender_type: str = "contact",
        private: bool = False,
        status: str | None = None,
    ) -> dict[str, Any]:
        """The webhook Chatwoot posts for a new message; the status is the conversation's own
        unless given."""
        return message_created(
            conversation_id, content, message_type=message_type, sender_type=sender_type, private=private,
            status=status or self.status(conversation_id),
        )

    def _record(
        self, kind: str, account_id: int, conversation_id: int, body: dict[str, Any]
    ) -> dict[str, Any] | None:
        """The response body, or None to fail the call."""
        with self._lock:
            self._calls.append(Call(kind, account_id, conversation_id, body))
            if conversation_id in self.failing:
                return None
            if kind == "toggle_status":
                self._statuses[conversation_id] = body.get("status", "open")
                return {"meta": {}, "payload": {"success": True, "current_status": self._statuses[conversation_id],
                                                 "conversation_id": conversation_id}}
        now = int(time.time())
        return {
            "id": next(_message_ids), "content": body.get("content"), "account_id": account_id, "inbox_id": INBOX_ID,
            "conversation_id": conversation_id, "message_type": 1, "created_at": now, "updated_at": now,
            "private": bool(body.get("private")), "status": "sent", "source_id": None,
            "content_type": body.get("content_type", "text"),
            "content_attributes": body.get("content_attributes", {}),
            "sender_type": "AgentBot", "sender_id": 1, "external_source_ids": {}, "additional_attributes": {},
            "processed_message_content": body.get("content"), "sentiment": {}, "conversation": {},
        }


def message_created(
    conversation_id: int,
    content: str | None,
    *,
    message_type: str = "incoming",
    sender_type: str = "contact",
    private: bool = False,
    status: str = "pending",
    account_id: int = ACCOUNT_ID,
) -> dict[str, Any]:
    """Chatwoot's documented message_created payload, for a web-widget conversation."""
    contact = {"id": 40 + conversation_id, "name": "little-haze-776", "avatar": "", "type": "contact"}
    sender = contact if sender_type == "contact" else {"id": 1, "name": "Agent", "avatar": "", "type": sender_type}
    return {
        "id": next(_message_ids),
        "content": content,
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
        "message_type": message_type,
        "content_type": "text",
        "private": private,
        "content_attributes": {},
        "source_id": None,
        "sender": sender,
        "inbox": {"id": INBOX_ID, "name": "MS pain support"},
        "conversation": {
            "additional_attributes": {},
            "can_reply": True,
            "channel": "Channel::WebWidget",
            "id": conversation_id,
            "inbox_id": INBOX_ID,
            "contact_inbox": {"id": 12, "contact_id": contact["id"], "inbox_id": INBOX_ID,
                              "source_id": "405f1d30-1af3-4fa0-8ffd-11ea3f86101e", "hmac_verified": False},
            "messages": [],
            "meta": {"sender": {**contact, "additional_attributes": {}, "custom_attributes": {}}, "assignee": None},
            "status": status,
            "unread_count": 1,
            "agent_last_seen_at": 0,
            "contact_last_seen_at": 0,
            "timestamp": int(time.time()),
        },
        "account": {"id": account_id, "name": "MS Society"},
        "event": "message_created",
    }


def webhook_body(event: dict[str, Any]) -> bytes:
    """The event as Chatwoot's `@payload.to_json` sends it: compact, other scripts as UTF-8."""
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode()


def delivery_headers(
    body: bytes, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None, delivery_id: str | None = None
) -> dict[str, str]:
    """The headers of one delivery attempt to an agent bot: the delivery's id (made when the event
    is queued, kept by retries), this attempt's Unix time, and "sha256=" + the HMAC-SHA256 of
    "<timestamp>.<body>" keyed by the bot's secret."""
    sent_at = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"{sent_at}.".encode() + body, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "X-Chatwoot-Delivery": delivery_id or str(uuid.uuid4()),
        "X-Chatwoot-Timestamp": sent_at,
        "X-Chatwoot-Signature": f"sha256={digest}",
    }


def _problem(kind: str, body: Any) -> str | None:
    """What Chatwoot would refuse: a status it does not have, a message without text."""
    if not isinstance(body, dict):
        return "the body must be a JSON object"
    if kind == "toggle_status" and body.get("status") not in STATUSES:
        return f"status must be one of {', '.join(STATUSES)}"
    if kind == "messages" and not (isinstance(body.get("content"), str) and body["content"].strip()):
        return "content must be non-empty text"
    return None


def _handler(stand_in: ChatwootStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(JsonHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            route = _ROUTE.match(self.path)
            if route is None:
                return self._answer(404, {"error": "Resource could not be found"})
            if self.headers.get("api_access_token") != TOKEN:
                return self._answer(401, {"error": "You need to sign in or sign up before continuing."})
            try:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            except ValueError:
                return self._answer(400, {"error": "invalid JSON"})
            problem = _problem(route[3], body)
            if problem:
                return self._answer(422, {"message": problem})
            answer = stand_in._record(route[3], int(route[1]), int(route[2]), body)
            if answer is None:
                return self._answer(500, {"error": "the stand-in was told to fail"})
            self._answer(200, answer)



    return Handler
