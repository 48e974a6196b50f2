"""A local stand-in for the Graph API's Send API, so Messenger replies can be tested offline.

It speaks the documented format: POST /v19.0/me/messages, the Page access token in an
`Authorization: Bearer ...` header (the Graph API also takes it as `?access_token=`, which would put
it in every proxy's access log; the stand-in refuses that), with the JSON body
{"recipient": {"id"}, "messaging_type", "message": {"text", "quick_replies"?}}, answered with
{"recipient_id", "message_id"}, or with a Graph error object {"error": {"message", "type", "code",
"fbtrace_id"}} when Messenger would refuse the request (wrong token, text over 2,000 characters,
more than 13 quick replies, a title over 20 characters...). It records every request, so tests see
what a person on Messenger would have received, and what Messenger would have refused.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import urlsplit

import pytest

from tests.json_handler import JsonHandler

APP_SECRET = "test-app-secret"
VERIFY_TOKEN = "test-verify-token"
PAGE_ACCESS_TOKEN = "test-page-access-token"
API_VERSION = "v19.0"
SEND_PATH = f"/{API_VERSION}/me/messages"
WAIT_SECONDS = 120
MESSAGING_TYPES = ("RESPONSE", "UPDATE", "MESSAGE_TAG")

# Where the `assistant` fixture leaves the running stand-in for the tests that read it.
STASH_KEY = pytest.StashKey["GraphStandIn"]()


@dataclass(frozen=True)
class Request:
    """One Send API call: to whom, which message, and why Messenger would refuse it (None: accepted)."""

    recipient_id: str
    message: dict[str, Any]
    refusal: str | None


class GraphStandIn:
    """The stand-in, serving on a free loopback port in a background thread while in a `with` block."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: list[Request] = []
        self._failing: set[str] = set()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> GraphStandIn:
        self._thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        """The Graph base URL, with its version, as MESSENGER_GRAPH_URL takes it."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/{API_VERSION}"

    def environment(self) -> dict[str, str]:
        """The variables that turn the Messenger channel on and point it here."""
        return {
            "MESSENGER_VERIFY_TOKEN": VERIFY_TOKEN,
            "MESSENGER_APP_SECRET": APP_SECRET,
            "MESSENGER_PAGE_ACCESS_TOKEN": PAGE_ACCESS_TOKEN,
            "MESSENGER_GRAPH_URL": self.url,
        }

    def fail_sends_to(self, recipient_id: str) -> None:
        """Answer every send to this person with a Graph server error, as during an outage."""
        with self._lock:
            self._failing.add(recipient_id)

    def requests_to(self, recipient_id: str) -> list[Request]:
        with self._lock:
            return [request for request in self._requests if request.recipient_id == recipient_id]

    def messages_to(self, recipient_id: str) -> list[dict[str, Any]]:
        """The messages delivered to this person, in order."""
        return [request.message for request in self.requests_to(recipient_id) if request.refusal is None]

    def refusals(self) -> list[Request]:
        with self._lock:
            return [request for request in self._requests if request.refusal is not None]

    def wait_for(self, recipient_id: str, done: Callable[[list[dict[str, Any]]], bool]) -> list[dict[str, Any]]:
        """The messages delivered to this person once `done` holds for them; fails with what did
        arrive if that takes longer than WAIT_SECONDS (a bound for a stuck server, not a timing check)."""
        deadline = time.monotonic() + WAIT_SECONDS
        while not done(messages := self.messages_to(recipient_id)):
            if time.monotonic() > deadline:
                raise AssertionError(f"still waiting for {recipient_id}; received: {messages}")
            time.sleep(0.2)
        return messages

    def _record(self, recipient_id: str, message: dict[str, Any], refusal: str | None) -> bool:
        """Record a request; whether this person's sends are set to fail."""
        with self._lock:
            self._requests.append(Request(recipient_id, message, refusal))
            return recipient_id in self._failing


def refusal_of(body: dict[str, Any]) -> str | None:
    """Why the Send API would refuse this body, for the messages this assistant sends; None if fine."""
    recipient = body.get("recipient")
    if not isinstance(recipient, dict) or not isinstance(recipient.get("id"), str) or not recipient["id"]:
        return "recipient.id is required"
    if body.get("messaging_type") not in MESSAGING_TYPES:
        return f"messaging_type must be one of {MESSAGING_TYPES}"
    message = body.get("message")
    if not isinstance(message, dict):
        return "message is required"
    text = message.get("text")
    if not isinstance(text, str) or not text.strip():
        return "message.text must be non-empty text"
    if len(text) > 2000:
        return "message.text must be at most 2000 characters"
    quick_replies = message.get("quick_replies", [])
    if not isinstance(quick_replies, list) or len(quick_replies) > 13:
        return "message.quick_replies must be a list of at most 13"
    for reply in quick_replies:
        if not isinstance(reply, dict) or reply.get("content_type") != "text":
            return "each quick reply needs content_type text"
        title, payload = reply.get("title"), reply.get("payload")
        if not isinstance(title, str) or not 0 < len(title) <= 20:
            return "a text quick reply needs a title of 1 to 20 characters"
        if not isinstance(payload, str) or not 0 < len(payload) <= 1000:
            return "a text quick reply needs a payload of 1 to 1000 characters"
    return None


def _handler_for(stand_in: GraphStandIn) -> type[BaseHTTPRequestHandler]:
    class SendApi(JsonHandler):
        def do_POST(self) -> None:
            address = urlsplit(self.path)
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if address.path != SEND_PATH:
                return self._error(404, 100, f"Unknown path components: {address.path}")
            if address.query or self.headers.get("Authorization") != f"Bearer {PAGE_ACCESS_TOKEN}":
                return self._error(400, 190, "Invalid OAuth access token.")
            if (self.headers.get("Content-Type") or "").split(";")[0] != "application/json":
                return self._error(400, 100, "The body must be JSON.")
            try:
                body = json.loads(raw)
            except ValueError:
                return self._error(400, 100, "The body is not valid JSON.")
            if not isinstance(body, dict):
                return self._error(400, 100, "The body must be a JSON object.")
            refusal = refusal_of(body)
            recipient = body.get("recipient")
            recipient_id = str(recipient.get("id")) if isinstance(recipient, dict) else ""
            message = body["message"] if isinstance(body.get("message"), dict) else {}
            failing = stand_in._record(recipient_id, message, refusal)
            if refusal is not None:
                return self._error(400, 100, f"(#100) {refusal}")
            if failing:
                return self._error(500, 2, "An unexpected error has occurred. Please retry your request later.")
            self._answer(200, {"recipient_id": recipient_id, "message_id": f"m_stand_in_{time.monotonic_ns()}"})

        def _error(self, status: int, code: int, message: str) -> None:
            self._answer(status, {"error": {
                "message": message, "type": "OAuthException", "code": code, "fbtrace_id": "StandInTrace",
            }})



    return SendApi
