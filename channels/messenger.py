"""Facebook Messenger as a Rasa channel, at /webhooks/messenger/webhook.

Our own instead of Rasa 3.6's `facebook` channel, which checks only the SHA-1 signature, answers
200 to a bad one, reads only the first message of a batch, fails on entries without `messaging`
and sends with a blocking client. Thin on purpose: the protocol is in `messenger_protocol`, where
unit tests reach it; this file connects it to Sanic, Rasa and the Graph Send API.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any, Awaitable, Callable, Coroutine, Iterable

import aiohttp
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from channels import messenger_protocol as protocol
from channels.guard import InputGuard
from channels.json_body import NOT_JSON, error_response
from rasa_fixes.turn_gate import waits_elsewhere

logger = logging.getLogger(__name__)

CHANNEL_NAME = "messenger"
SEND_TIMEOUT = aiohttp.ClientTimeout(total=20)

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


class GraphSender:
    """Posts to the Graph Send API over one aiohttp session, opened on first use (inside the server's
    event loop). A failed send is logged, never raised: one undeliverable reply must not stop the
    conversation, let alone the server. The Page access token goes in the Authorization header, as
    Meta's Cloud API documents it, not in the URL, where proxies and logs would keep it."""

    def __init__(self, settings: protocol.Settings) -> None:
        self._settings = settings
        self._session: aiohttp.ClientSession | None = None

    @waits_elsewhere
    async def send(self, recipient_id: str, message: dict[str, Any]) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=SEND_TIMEOUT)
        try:
            async with self._session.post(
                self._settings.send_url,
                headers={"Authorization": f"Bearer {self._settings.page_access_token}"},
                json=protocol.send_request(recipient_id, message),
                allow_redirects=False,
            ) as answer:
                if answer.status != 200:
                    error = protocol.graph_error(await answer.read())
                    logger.error("The Send API refused a reply to %s: HTTP %s, %s", recipient_id, answer.status, error)
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as error:
            detail = str(error).replace(self._settings.page_access_token, "<page access token>")
            logger.error("Could not send a reply to %s: %s %s", recipient_id, type(error).__name__, detail)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


class MessengerOutput(OutputChannel):
    """Rasa's replies as Messenger messages: long text in pieces, buttons as quick replies.
    Rasa's defaults turn images, attachments and custom JSON into text, which lands here too."""

    @classmethod
    def name(cls) -> str:
        return CHANNEL_NAME

    def __init__(self, sender: GraphSender) -> None:
        self._sender = sender

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self.send_text_with_buttons(recipient_id, text, [])

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: Iterable[dict[str, Any]], **kwargs: Any
    ) -> None:
        for message in protocol.outgoing_messages(text, buttons):
            await self._sender.send(recipient_id, message)


class MessengerInput(InputChannel):
    """The webhook Meta calls: the verify handshake (GET) and signed notifications (POST).
    Without its secrets in the environment the channel stays registered and answers 503."""

    @classmethod
    def name(cls) -> str:
        return CHANNEL_NAME

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> MessengerInput:
        """Secrets come from the environment only: credentials.yml is committed."""
        settings = protocol.Settings.from_environment(os.environ)
        if settings is None:
            logger.info(protocol.CHANNEL_OFF)
        return cls(settings)

    def __init__(self, settings: protocol.Settings | None) -> None:
        self._settings = settings
        self._sender = GraphSender(settings) if settings else None
        self._answered = protocol.RecentMessageIds()
        # Conversations answered in the background; held so they are not garbage-collected mid-way.
        self._conversations: set[asyncio.Task] = set()

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        webhook = Blueprint("messenger_webhook", __name__)
        guard = InputGuard(on_new_message)
        guard.attach(webhook)

        @webhook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok" if self._settings else "off"})

        @webhook.route("/webhook", methods=["GET"])
        async def verify(request: Request) -> HTTPResponse:
            if self._settings is None:
                return error_response(503, protocol.CHANNEL_OFF)
            challenge = protocol.handshake_challenge(
                request.args.get("hub.mode"), request.args.get("hub.verify_token"),
                request.args.get("hub.challenge"), self._settings.verify_token,
            )
            if challenge is None:
                logger.warning("Messenger verify request refused: wrong hub.mode or hub.verify_token")
                return error_response(403, "Verification failed: hub.mode must be subscribe and hub.verify_token must match.")
            return response.text(challenge)

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if self._settings is None or self._sender is None:
                return error_response(503, protocol.CHANNEL_OFF)
            signature = request.headers.get(protocol.SIGNATURE_HEADER)
            if not protocol.signature_matches(request.body, signature, self._settings.app_secret):
                logger.warning("Messenger notification refused: missing or wrong %s", protocol.SIGNATURE_HEADER)
                return error_response(403, f"Missing or wrong {protocol.SIGNATURE_HEADER} signature.")
            if not protocol.is_json(request.headers.get("content-type")):
                return error_response(400, NOT_JSON)
            try:
                notification = protocol.parse_notification(request.body)
            except protocol.BadRequest as error:
                return error_response(400, str(error))
            output = MessengerOutput(self._sender)
            fresh = self._answered.new(protocol.incoming_messages(notification))
            for sender_id, messages in protocol.by_sender(fresh).items():
                self._in_background(_converse(guard, output, sender_id, messages))
            return response.text(protocol.EVENT_RECEIVED)

        @webhook.listener("after_server_stop")
        async def close_sender(*_: Any) -> None:
            if self._sender is not None:
                await self._sender.close()

        return webhook

    def _in_background(self, conversation: Coroutine[Any, Any, None]) -> None:
        """Answer after the 200: Meta resends notifications that are not acknowledged quickly."""
        task = asyncio.create_task(conversation)
        self._conversations.add(task)
        task.add_done_callback(self._conversations.discard)


async def _converse(
    on_new_message: OnNewMessage, output: MessengerOutput, sender_id: str, messages: list[protocol.Incoming]
) -> None:
    """One person's messages from one notification, in order, each through the input guard and
    Rasa's NLU (and so its red-flag check)."""
    for message in messages:
        try:
            await on_new_message(UserMessage(
                message.text, output, sender_id, input_channel=CHANNEL_NAME, message_id=message.message_id,
            ))
        except Exception:  # a background task: nobody else would see it
            logger.exception("Answering a Messenger message from %s failed", sender_id)

