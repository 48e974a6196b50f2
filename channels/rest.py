"""Rasa's REST channel (/webhooks/rest/webhook), behind the input guard every channel uses.

Rasa's own answers a body it cannot read with a 500 or with Sanic's HTML error page, and stores
whatever text it is given: a lone surrogate in the sender id once made the SQL store exit the
whole server. Here the body is checked first: anything but a JSON object with a text "message",
text fields that are not valid UTF-8, a sender id over the limit and metadata too big or too deep
get a 400 with a clear JSON message. What the guard answers instead of processing (an empty or
over-long message) comes back as the reply.

Rasa reads any message starting with "/" as an intent payload and skips the NLU pipeline, and
with it the red-flag check. REST clients send button payloads that way, so payloads stay
payloads, but one that holds a red flag is read as text (the guard does it).
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable, Optional

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput as RasaRestInput
from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse

from channels.guard import InputGuard
from channels.json_body import NOT_JSON, BadRequest, error_response, is_json, json_object
from pain_assistant.incoming import problem_in, problem_with_metadata, problem_with_sender

EXPECTED = 'a JSON object like {"sender": "someone", "message": "why do my legs hurt"}'


class RestInput(RasaRestInput):
    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        guard = InputGuard(on_new_message)
        blueprint = super().blueprint(guard)
        guard.attach(blueprint)

        @blueprint.middleware("request")
        async def readable_body_first(request: Request) -> Optional[HTTPResponse]:
            if request.method != "POST":
                return None
            if not is_json(request.content_type):
                return error_response(400, NOT_JSON)
            try:
                _checked(json_object(request.body, EXPECTED))
            except BadRequest as error:
                return error_response(400, str(error))
            return None

        return blueprint


def _checked(body: dict[str, Any]) -> None:
    """BadRequest unless each field Rasa reads has the type Rasa expects and can be stored."""
    if not isinstance(body.get("message"), str):
        raise BadRequest(f'"message" must be text: send {EXPECTED}.')
    for field in ("sender", "input_channel"):
        if body.get(field) is not None and not isinstance(body[field], str):
            raise BadRequest(f'"{field}" must be text when given.')
    problem = (
        problem_in(body["message"], "message")
        or problem_in(body.get("input_channel"), "input_channel")
        or (problem_with_sender(body["sender"]) if body.get("sender") is not None else None)
        or problem_with_metadata(body.get("metadata"))
    )
    if problem is not None:
        raise BadRequest(problem)
