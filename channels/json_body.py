"""Reading a webhook's JSON body, the same way on every channel: a 400 with a clear message for
anything that is not a JSON object of text that can be stored, never a 500."""

from __future__ import annotations

import json
from typing import Any

from sanic import response
from sanic.response import HTTPResponse

from pain_assistant.incoming import problem_in

NOT_JSON = "The body must be JSON, sent with Content-Type: application/json."
# Deeper than any webhook's documented body (a Chatwoot or Messenger event is about 6 levels deep).
MAX_BODY_DEPTH = 32


class BadRequest(ValueError):
    """A body we cannot read; the message says what is wrong, for a 400 answer."""


def is_json(content_type: str | None) -> bool:
    return (content_type or "").split(";")[0].strip().lower() == "application/json"


def json_object(body: bytes, what: str) -> dict[str, Any]:
    """The body as a JSON object; BadRequest naming `what` was expected otherwise."""
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError) as error:  # UnicodeDecodeError is a ValueError too
        raise BadRequest(f"The body is not valid JSON: {error}") from None
    if not isinstance(parsed, dict):
        raise BadRequest(f"The body must be a JSON object ({what}).")
    problem = problem_in(parsed, max_depth=MAX_BODY_DEPTH)
    if problem is not None:
        raise BadRequest(problem)
    return parsed


def error_response(status: int, message: str) -> HTTPResponse:
    """An error answer every client can read: {"error": "..."}."""
    return response.json({"error": message}, status=status)
