"""Who may hold a web chat conversation: server-issued, signed session ids, and the allowed origins.

A web chat session id names a conversation (it is Rasa's sender id) and whoever holds it gets that
conversation's replies, so a client must never choose it: the server issues it, 128 random bits
and an HMAC-SHA256 of them under a key derived from the deployment's secret
(`pain_assistant.server_secret`). Any Rasa server of the deployment can tell a genuine id from a
made-up, truncated or altered one without shared state, and across restarts.

Only pages on the allowed origins may open the socket: a page on another site must not be able to
use a visitor's browser to chat in the assistant's name or read its replies. Browsers always send
an Origin header on the socket's requests; other programs may send none, and are let in, since
they could send any Origin they like: what keeps a conversation from them is its signed id.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from typing import Mapping
from urllib.parse import urlsplit

from pain_assistant.server_secret import derived_key

KEY_PURPOSE = "webchat-session"
RANDOM_BYTES = 16
SEPARATOR = "."
# A genuine id is 22 characters of randomness, the separator and 43 of signature.
MAX_SESSION_ID = 80

ORIGINS_VARIABLE = "WEBCHAT_ALLOWED_ORIGINS"
PAGE_PORT_VARIABLE = "WEBCHAT_PORT"
DEFAULT_PAGE_PORT = "8080"


class SessionIds:
    """Issues session ids and tells genuine ones, all under one key."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def new(self) -> str:
        random_part = secrets.token_urlsafe(RANDOM_BYTES)
        return random_part + SEPARATOR + self._signature(random_part)

    def is_genuine(self, session_id: object) -> bool:
        """Whether this server issued `session_id`; anything a client sends may be asked."""
        if not (isinstance(session_id, str) and session_id.isascii() and len(session_id) <= MAX_SESSION_ID):
            return False
        random_part, separator, signature = session_id.partition(SEPARATOR)
        return bool(random_part and separator) and hmac.compare_digest(signature, self._signature(random_part))

    def _signature(self, random_part: str) -> str:
        digest = hmac.new(self._key, random_part.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def deployment_session_ids() -> SessionIds:
    """Session ids under the deployment's key, so every server and every restart accepts them."""
    return SessionIds(derived_key(KEY_PURPOSE))


def allowed_origins(environment: Mapping[str, str] = os.environ) -> list[str]:
    """The origins whose pages may open the web chat: WEBCHAT_ALLOWED_ORIGINS (comma-separated),
    or else the demo page's, on WEBCHAT_PORT. Never empty: python-socketio reads an empty list as
    "check no origin at all"."""
    listed = [origin.strip().rstrip("/").lower() for origin in environment.get(ORIGINS_VARIABLE, "").split(",")]
    origins = [origin for origin in listed if origin]
    if not origins:
        port = environment.get(PAGE_PORT_VARIABLE, "").strip() or DEFAULT_PAGE_PORT
        return [f"http://localhost:{port}", f"http://127.0.0.1:{port}"]
    for origin in origins:
        _check_origin(origin)
    return origins


def _check_origin(origin: str) -> None:
    """An origin as browsers send it, scheme://host[:port], or a start-up error that says so:
    one written otherwise would never match and would lock its site out without a word."""
    try:
        parts = urlsplit(origin)
        parts.port  # raises ValueError if the port is not a number
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or parts.path \
            or parts.query or parts.fragment or parts.username is not None:
        raise ValueError(
            f'{ORIGINS_VARIABLE}: "{origin}" is not an origin: write scheme://host[:port], '
            f"e.g. https://www.example.org, with commas between origins."
        )
