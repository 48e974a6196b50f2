"""Rasa's REST channel (/webhooks/rest/webhook), with one safety change.

Rasa reads any message starting with "/" as an intent payload and skips the NLU pipeline, and
with it the red-flag check. REST clients send button payloads that way, so payloads stay
payloads, but one that holds a red flag is read as text.
"""

from __future__ import annotations

from typing import Optional

from rasa.core.channels.rest import RestInput as RasaRestInput
from sanic.request import Request

from pain_assistant.incoming import unless_it_hides_a_red_flag


class RestInput(RasaRestInput):
    def _extract_message(self, req: Request) -> Optional[str]:
        message = super()._extract_message(req)
        return unless_it_hides_a_red_flag(message) if isinstance(message, str) else message
