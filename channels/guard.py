"""The one input guard every channel puts around Rasa's message handler, the same way:

    guard = InputGuard(on_new_message)
    blueprint = ...the channel's routes, handing messages to `guard`...
    guard.attach(blueprint)

It applies `pain_assistant.incoming`'s checks to every message (readable fields, bounded length,
metadata limits, no typed text posing as a payload) and answers what it will not process. It caps
the size of any request body the server reads (Sanic's own limit is 100 MB, and a big body stalled
every conversation). And a red flag never waits behind a turn still running in the same
conversation (one held up by a hung action server, say): if the conversation is busy, the warning
goes out at once, and the turn follows in the background without repeating it. Before a
message goes on, its sentence vectors are encoded off the event loop, batched with other
conversations' messages (`pain_assistant.encode_ahead`), so the encoder never holds up the server.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable

from rasa.core.channels.channel import OutputChannel, UserMessage
from sanic import Blueprint, Sanic

from pain_assistant import encode_ahead, incoming
from pain_assistant.render_safety import repeats_warning, response_name

logger = logging.getLogger(__name__)

# No channel needs more: a message is read up to 5,000 characters, metadata up to 4 KB, and a
# Messenger batch of many messages stays well under this. Bigger bodies get 413 unread.
MAX_BODY_BYTES = 256 * 1024

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


class InputGuard:
    def __init__(self, on_new_message: OnNewMessage) -> None:
        self._on_new_message = on_new_message
        self._app: Sanic | None = None
        # Turns that go on after their early warning; held so they are not garbage-collected.
        self._turns: set[asyncio.Task] = set()

    def attach(self, blueprint: Blueprint) -> None:
        """Cap request bodies, and keep the app, whose agent tells which conversations are busy."""

        @blueprint.listener("before_server_start")
        async def bound_bodies(app: Sanic, _loop: Any) -> None:
            app.config.REQUEST_MAX_SIZE = min(app.config.REQUEST_MAX_SIZE, MAX_BODY_BYTES)
            self._app = app

    async def __call__(self, message: UserMessage) -> bool:
        """Hand the message to Rasa, or answer it here; whether it went on to Rasa."""
        problem = incoming.problem_with_sender(message.sender_id) or incoming.problem_with_metadata(message.metadata)
        if problem is None and message.text is not None:
            problem = incoming.problem_in(message.text, "message")
        if problem is not None:
            logger.info("A message was not processed: %s", problem)
            await self.refuse(message.text or "", message.output_channel, message.sender_id, incoming.UNREADABLE)
            return False
        text = incoming.to_process(message.text or "")
        if isinstance(text, incoming.Instead):
            await message.output_channel.send_text_message(message.sender_id, text.reply)
            return False
        message.text = text
        warning = self._warning_if_busy(message)
        if warning is None:
            await self._process(message)
            return True
        await message.output_channel.send_response(message.sender_id, {"text": warning})
        message.output_channel = WithoutRepeating(message.output_channel, warning)
        turn = asyncio.create_task(self._process(message))
        self._turns.add(turn)
        turn.add_done_callback(self._turn_done)
        return True

    async def _process(self, message: UserMessage) -> None:
        """Rasa's turn, its sentence vectors encoded first off the event loop (a button's "/"
        payload skips the NLU pipeline, so it needs none)."""
        if not (message.text or "").startswith("/"):
            await encode_ahead.prepare(message.text or "")
        await self._on_new_message(message)

    async def refuse(self, text: str, output: OutputChannel, recipient_id: str, reason: str) -> None:
        """Answer a message that will not be processed: with its red-flag warning first, if its
        red-flag window holds one (safety rule 1 whatever else is wrong with it), then why."""
        warning = self.warning_for(text)
        if warning is not None:
            await output.send_response(recipient_id, {"text": warning})
        await output.send_text_message(recipient_id, reason)

    def _warning_if_busy(self, message: UserMessage) -> str | None:
        """The warning for the message's most severe red flag, if it has one and another turn of
        its conversation is still running; None otherwise."""
        agent = self._app.ctx.agent if self._app is not None else None
        if agent is None or not agent.lock_store.is_someone_waiting(message.sender_id):
            return None
        warning = self.warning_for(message.text or "")
        if warning is not None:
            logger.info("Warned at once in conversation %s: another turn of it is still running", message.sender_id)
        return warning

    def warning_for(self, text: str) -> str | None:
        """The loaded model's reply to the most severe red flag in `text`'s red-flag window
        (rendered for the deployment's region), or None if it raises none."""
        agent = self._app.ctx.agent if self._app is not None else None
        if agent is None or agent.domain is None:
            return None
        detections = incoming.detector().detect(incoming.red_flag_window(text))
        if not detections:
            return None
        responses = agent.domain.responses.get(response_name(detections[0].flag.id)) or [{}]
        return responses[0].get("text")

    def _turn_done(self, turn: asyncio.Task) -> None:
        self._turns.discard(turn)
        if not turn.cancelled() and turn.exception() is not None:
            logger.error("A turn after an early warning failed", exc_info=turn.exception())


class WithoutRepeating(OutputChannel):
    """The channel, less the first time a reply repeats the warning already sent."""

    def __init__(self, channel: OutputChannel, warning: str) -> None:
        self._channel = channel
        self._warning: str | None = warning

    def name(self) -> str:  # type: ignore[override]  # the channel's name, as Rasa reads it
        return self._channel.name()

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        if self._warning is not None and repeats_warning(message.get("text"), self._warning):
            self._warning = None
            return
        await self._channel.send_response(recipient_id, message)
