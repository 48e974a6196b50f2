"""Rasa's REST channel (/webhooks/rest/webhook), with the checks every channel makes.

Rasa's own answers a body it cannot read with a 500 or with Sanic's HTML error page, and sends an
empty or over-long message through the model. Here the body is checked first: anything but a
JSON object with a text "message" gets a 400 with a clear JSON message, and an empty or
over-long message gets the prompt or limit of `pain_assistant.incoming` as its reply.

Rasa reads any message starting with "/" as an intent payload and skips the NLU pipeline, and
with it the red-flag check. REST clients send button payloads that way, so payloads stay
payloads, but one that holds a red flag is read as text.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable, Optional

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput as RasaRestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from channels.json_body import NOT_JSON, BadRequest, error_response, is_json, json_object
from pain_assistant.incoming import reply_instead, unless_it_hides_a_red_flag

EXPECTED = 'a JSON object like {"sender": "someone", "message": "why do my legs hurt"}'


class RestInput(RasaRestInput):
    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        blueprint = super().blueprint(on_new_message)

        @blueprint.middleware("request")
        async def readable_message_first(request: Request) -> Optional[HTTPResponse]:
            if request.method != "POST":
                return None
            if not is_json(request.content_type):
                return error_response(400, NOT_JSON)
            try:
                body = _checked(json_object(request.body, EXPECTED))
            except BadRequest as error:
                return error_response(400, str(error))
            instead = reply_instead(body["message"])
            if instead is not None:
                return response.json([{"recipient_id": body.get("sender") or "default", "text": instead}])
            return None

        return blueprint

    def _extract_message(self, req: Request) -> Optional[str]:
        message = super()._extract_message(req)
        return unless_it_hides_a_red_flag(message) if isinstance(message, str) else message


def _checked(body: dict[str, Any]) -> dict[str, Any]:
    """The body, if each field Rasa reads has the type Rasa expects; BadRequest otherwise."""
    if not isinstance(body.get("message"), str):
        raise BadRequest(f'"message" must be text: send {EXPECTED}.')
    for field in ("sender", "input_channel"):
        if body.get(field) is not None and not isinstance(body[field], str):
            raise BadRequest(f'"{field}" must be text when given.')
    if not isinstance(body.get("metadata", {}), dict):
        raise BadRequest('"metadata" must be a JSON object when given.')
    return body
