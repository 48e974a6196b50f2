"""Chatwoot's agent bot as a Rasa channel, at /webhooks/chatwoot/webhook.

Thin on purpose: how a delivery is verified, which events to answer and the message shapes are in
`chatwoot_protocol`, when to hand a conversation to a person and the agent's note in
`pain_assistant.handoff`; this file connects them to Sanic, Rasa and Chatwoot's API.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import weakref
from collections import OrderedDict
from typing import Any, Awaitable, Callable, Coroutine, Mapping

import aiohttp
from rasa.core.agent import Agent
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.shared.core.events import ActionExecuted, UserUttered
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from channels import chatwoot_protocol as protocol
from channels.guard import InputGuard
from channels.json_body import NOT_JSON, error_response
from channels.recent_ids import RecentIds
from pain_assistant import handoff
from pain_assistant.incoming import detector
from pain_assistant.render_safety import RED_FLAG_ENTITY, repeats_warning
from pain_assistant.validation import KnowledgeError

logger = logging.getLogger(__name__)

CHANNEL_NAME = "chatwoot"
SEND_TIMEOUT = aiohttp.ClientTimeout(total=20)
CONVERSATIONS_KEPT = 10_000  # whose last offered buttons are remembered

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


class ChatwootClient:
    """Posts to Chatwoot's API over one aiohttp session, opened on first use (inside the server's
    event loop). A failed call is logged, never raised: the next step of a handover, and the next
    conversation, still go ahead."""

    def __init__(self, settings: protocol.Settings) -> None:
        self._settings = settings
        self._session: aiohttp.ClientSession | None = None

    async def post(self, path: str, body: Mapping[str, Any]) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=SEND_TIMEOUT)
        try:
            async with self._session.post(
                self._settings.url + path,
                json=body,
                headers={protocol.TOKEN_HEADER: self._settings.token},
                allow_redirects=False,
            ) as answer:
                if answer.status >= 300:
                    detail = (await answer.text(errors="replace"))[:300]
                    logger.error("Chatwoot refused POST %s: HTTP %s %s", path, answer.status, detail)
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as error:
            logger.error("Could not POST %s to Chatwoot: %s %s", path, type(error).__name__, error)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


class ChatwootOutput(OutputChannel):
    """Holds Rasa's replies to one message: the channel posts them once it knows whether the
    conversation goes to a person, which changes what is sent. Rasa's defaults turn images,
    attachments and custom JSON into text, which lands here too."""

    @classmethod
    def name(cls) -> str:
        return CHANNEL_NAME

    def __init__(self) -> None:
        self.replies: list[dict[str, Any]] = []

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        self.replies.append({"text": text})

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        self.replies.append({"text": text, "buttons": list(buttons)})


class ChatwootInput(InputChannel):
    """The agent bot's webhook. Without its settings in the environment the channel stays
    registered and answers 503."""

    @classmethod
    def name(cls) -> str:
        return CHANNEL_NAME

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> ChatwootInput:
        """Settings come from the environment only: credentials.yml is committed."""
        settings = protocol.Settings.from_environment(os.environ)
        logger.info("Chatwoot channel: %s", protocol.mode(os.environ))
        if settings is None:
            return cls(None, {})
        return cls(settings, _severities())

    def __init__(self, settings: protocol.Settings | None, severities: Mapping[str, str]) -> None:
        self._settings = settings
        self._client = ChatwootClient(settings) if settings else None
        # Deliveries and messages answered lately: Chatwoot retries a delivery that was slow or failed.
        self._seen = RecentIds()
        self._desk = handoff.HandoffDesk(severities)
        # Handed to a person here, whatever the status in webhooks already on their way says.
        # Forgotten once a webhook shows the conversation is no longer pending: from then on its
        # status decides, so agents can hand it back by setting it pending again.
        self._handed_over: set[str] = set()
        # The payloads of the buttons each conversation was offered last.
        self._offered: OrderedDict[str, frozenset[str]] = OrderedDict()
        # One message at a time per conversation, in the order they came.
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        # Messages answered in the background; held so they are not garbage-collected mid-way.
        self._answering: set[asyncio.Task] = set()

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        webhook = Blueprint("chatwoot_webhook", __name__)
        guard = InputGuard(on_new_message)
        guard.attach(webhook)

        @webhook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok" if self._client else "off"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            return await self.receive(request, guard)

        @webhook.listener("after_server_stop")
        async def close_client(*_: Any) -> None:
            if self._client is not None:
                await self._client.close()

        return webhook

    async def receive(self, request: Request, guard: InputGuard) -> HTTPResponse:
        """Answer 200 at once to every verified, well-formed event, saying whether the bot will
        answer it; the answer itself goes out in the background. A delivery that does not prove it
        comes from our Chatwoot gets 401 and changes nothing; one seen before, 200 "duplicate"."""
        if self._client is None or self._settings is None:
            return error_response(503, protocol.CHANNEL_OFF)
        refused = protocol.refusal(
            self._settings, request.body,
            signature_header=request.headers.get(protocol.SIGNATURE_HEADER),
            timestamp_header=request.headers.get(protocol.TIMESTAMP_HEADER),
            url_token=request.args.get(protocol.URL_TOKEN_PARAMETER),
            now=time.time(),
        )
        if refused is not None:
            logger.warning("Chatwoot delivery refused: %s", refused)
            return error_response(401, refused)
        if not protocol.is_json(request.headers.get("content-type")):
            return error_response(400, NOT_JSON)
        try:
            event = protocol.parse_body(request.body)
        except protocol.BadRequest as error:
            return error_response(400, str(error))
        webhook = protocol.read_webhook(event)
        if not self._seen.first_time(*protocol.replay_keys(request.headers.get(protocol.DELIVERY_HEADER), webhook)):
            return response.json({"status": "duplicate"})
        if webhook.conversation and webhook.status != protocol.PENDING:
            self._handed_over.discard(webhook.conversation.sender_id)
        incoming = webhook.incoming
        if incoming is None:
            return response.json({"status": "ignored", "reason": webhook.ignored})
        if incoming.conversation.sender_id in self._handed_over:
            return response.json({"status": "ignored", "reason": "handed to a person"})
        self._in_background(self._answer(self._client, guard, request.app.ctx.agent, incoming))
        return response.json({"status": "accepted"})

    def _in_background(self, answering: Coroutine[Any, Any, None]) -> None:
        """Answer after the 200: Chatwoot gives a webhook a few seconds, then marks the message
        failed or sends it again."""
        task = asyncio.create_task(answering)
        self._answering.add(task)
        task.add_done_callback(self._answering.discard)

    async def _answer(
        self, client: ChatwootClient, guard: InputGuard, agent: Agent, incoming: protocol.Incoming
    ) -> None:
        conversation = incoming.conversation
        sender_id = conversation.sender_id
        lock = self._locks.get(sender_id)
        if lock is None:
            lock = self._locks[sender_id] = asyncio.Lock()
        # A red flag never waits behind the conversation's turn still running (one held up by a
        # hung action server, say): its warning goes out now, and its turn does not repeat it.
        warned = await self._warn_at_once(client, guard, incoming) if lock.locked() else None
        async with lock:
            if sender_id in self._handed_over:  # handed over while this message waited its turn
                return
            try:
                await self._converse(client, guard, agent, incoming, warned)
            except Exception:  # a background task: nobody else would see it
                logger.exception("Answering Chatwoot conversation %s failed", sender_id)

    async def _warn_at_once(self, client: ChatwootClient, guard: InputGuard, incoming: protocol.Incoming) -> str | None:
        """Post the message's red-flag warning now, if it holds a red flag; the warning posted."""
        warning = guard.warning_for(incoming.text)
        if warning is not None:
            logger.info("Warned at once in Chatwoot conversation %s: another turn of it is still running",
                        incoming.conversation.sender_id)
            await client.post(incoming.conversation.messages_path, protocol.text_message(warning))
        return warning

    async def _converse(
        self, client: ChatwootClient, guard: InputGuard, agent: Agent, incoming: protocol.Incoming,
        warned: str | None = None,
    ) -> None:
        """Through the input guard and Rasa's NLU (and so its red-flag check); what the guard answers
        instead (a prompt for an empty message, the limit for a long one) is posted as it is. A
        warning already posted (`warned`) is not posted again."""
        conversation = incoming.conversation
        text = protocol.rasa_text(incoming.text, self._offered.get(conversation.sender_id, frozenset()))
        output = ChatwootOutput()
        processed = await guard(UserMessage(
            text, output, conversation.sender_id, input_channel=CHANNEL_NAME, message_id=incoming.message_id,
        ))
        replies = _without_first(output.replies, warned)
        if processed:
            turn = await _turn(agent, conversation.sender_id, text, incoming.message_id)
            reason = self._desk.record(conversation.sender_id, turn)
            if reason is not None:
                await self._hand_over(client, conversation, reason, replies, turn)
                return
        messages = protocol.outgoing_messages(replies)
        for message in messages:
            await client.post(conversation.messages_path, message)
        self._remember_offered(conversation.sender_id, protocol.offered_payloads(messages))

    def _remember_offered(self, sender_id: str, payloads: frozenset[str]) -> None:
        self._offered.pop(sender_id, None)
        if payloads:
            self._offered[sender_id] = payloads
        while len(self._offered) > CONVERSATIONS_KEPT:
            self._offered.popitem(last=False)

    async def _hand_over(
        self,
        client: ChatwootClient,
        conversation: protocol.Conversation,
        reason: handoff.Reason,
        replies: list[dict[str, Any]],
        turn: handoff.Turn,
    ) -> None:
        """The reply first (a red flag's warning above all), then the conversation to the agents
        with a note saying why and what was said."""
        self._handed_over.add(conversation.sender_id)
        messages = protocol.outgoing_messages(replies) if handoff.keeps_assistant_reply(reason) else []
        messages.append(protocol.text_message(handoff.HANDOFF_NOTICE[reason]))
        for message in messages:
            await client.post(conversation.messages_path, message)
        await client.post(conversation.toggle_status_path, protocol.status_change(protocol.OPEN))
        note = self._desk.summary(conversation.sender_id, reason, turn.entity_values(RED_FLAG_ENTITY))
        await client.post(conversation.messages_path, protocol.private_note(note))
        logger.info("Chatwoot conversation %s handed to a person: %s", conversation.sender_id, reason.value)


def _without_first(replies: list[dict[str, Any]], text: str | None) -> list[dict[str, Any]]:
    """The replies, less the first that repeats the warning `text`."""
    for index, reply in enumerate(replies):
        if text is not None and repeats_warning(reply.get("text"), text):
            return replies[:index] + replies[index + 1:]
    return replies


async def _turn(agent: Agent, sender_id: str, text: str, message_id: str) -> handoff.Turn:
    """What Rasa made of the message, from the tracker: the intent and entities it acted on and
    the actions it ran in reply (everything after the message: this conversation's lock is held)."""
    tracker = await agent.tracker_store.retrieve(sender_id)
    events = list(tracker.events) if tracker else []
    uttered_at = next(
        (index for index in range(len(events) - 1, -1, -1)
         if isinstance(events[index], UserUttered) and events[index].message_id == message_id),
        None,
    )
    if uttered_at is None:
        logger.warning("Chatwoot message %s is not in the tracker of %s", message_id, sender_id)
        return handoff.Turn(text, None)
    uttered = events[uttered_at]
    entities = tuple((str(entity.get("entity")), str(entity.get("value"))) for entity in uttered.entities)
    actions = tuple(
        event.action_name for event in events[uttered_at + 1:] if isinstance(event, ActionExecuted) and event.action_name
    )
    return handoff.Turn(text, uttered.intent_name, entities, actions)


def _severities() -> dict[str, str]:
    """Each red flag's severity, for the agent's note. The running model detects the flags of the
    file it was trained with, which `make` keeps in step with this one."""
    try:
        return {flag.id: flag.severity for flag in detector().flags}
    except (KnowledgeError, OSError) as error:
        logger.error("Red-flag severities unavailable for Chatwoot notes: %s", error)
        return {}

