"""The web chat: Rasa's socket.io channel (at /socket.io), with the checks every channel makes.

The widget in `webchat/` talks to it. A conversation belongs to the browser it was issued to
(`channels.webchat_session`): the server issues a signed session id, a session request resumes
only a genuine one (anything else starts a new session), and a message is processed only in the
session its connection was confirmed for, so a second client can neither join another's room
nor write, read or forget in another's conversation. A message refused for that still gets its
red-flag warning, if it holds one. Only pages on the allowed origins may open the socket.

Rasa 3.6 never awaits `enter_room` when a session starts (RasaHQ/rasa#13027), so with the
python-socketio it pins, replies to a persistent session reach no one; the session request is
handled here instead. Rasa's own message handler reads `data.get(...)` from whatever a client
sends, so only a JSON object with a text `message` reaches it; anything else is answered with a
clear message. Then the input guard every channel uses (`channels.guard`) takes over.
"""

from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.socketio import SocketIOInput, SocketIOOutput
from sanic import Blueprint

from channels.guard import MAX_BODY_BYTES, InputGuard
from channels.webchat_session import allowed_origins, deployment_session_ids
from pain_assistant.incoming import UNREADABLE

logger = logging.getLogger(__name__)

NOT_IN_THIS_SESSION = (
    "Sorry, this chat is not connected to your conversation, so I did not read that message. "
    "Please reload the page and ask again."
)
# Where python-socketio keeps, for each connection, the session it was confirmed for.
CONFIRMED = "session_id"

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


class WebChatInput(SocketIOInput):
    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        self._guard = InputGuard(on_new_message)
        blueprint = super().blueprint(self._guard)
        self._guard.attach(blueprint)
        assert self.sio is not None
        # Rasa makes the server with no origin check at all; python-socketio checks this list at
        # every request that carries an Origin header, the handshake first, and answers 400.
        self.sio.eio.cors_allowed_origins = allowed_origins()
        # engine.io reads up to 1 MB per message by default; no message needs more than the guard's limit.
        self.sio.eio.max_http_buffer_size = MAX_BODY_BYTES
        self._sessions_of_their_own()
        return blueprint

    def _sessions_of_their_own(self) -> None:
        """Handle session requests, and put a guard in front of Rasa's handler of user messages."""
        assert self.sio is not None
        sio, namespace = self.sio, self.namespace or "/"
        session_ids = deployment_session_ids()
        rasa_handle_message = sio.handlers[namespace][self.user_message_evt]

        async def session_request(sid: str, data: Any = None) -> None:
            asked = data.get("session_id") if isinstance(data, dict) else None
            session_id = asked if session_ids.is_genuine(asked) else session_ids.new()
            held = await sio.get_session(sid, namespace=namespace)
            previous = held.get(CONFIRMED)
            if self.session_persistence:
                if previous is not None and previous != session_id:  # "Start over": stop hearing the old one
                    await sio.leave_room(sid, previous, namespace=namespace)
                await sio.enter_room(sid, session_id, namespace=namespace)
            held[CONFIRMED] = session_id
            await sio.save_session(sid, held, namespace=namespace)
            await sio.emit("session_confirm", session_id, room=sid, namespace=namespace)

        async def handle_message(sid: str, data: Any = None) -> None:
            if not self._readable(data):
                await sio.emit(self.bot_message_evt, {"text": UNREADABLE}, room=sid, namespace=namespace)
                return
            confirmed = (await sio.get_session(sid, namespace=namespace)).get(CONFIRMED)
            if confirmed is None or data.get("session_id") != confirmed:
                await self._refuse(sid, data.get("message", ""))
                return
            # Rasa takes the sender id from data["session_id"]: this connection's own session.
            await rasa_handle_message(sid, data)

        sio.on("session_request", session_request, namespace=namespace)
        sio.on(self.user_message_evt, handle_message, namespace=namespace)

    async def _refuse(self, sid: str, text: str) -> None:
        """Say why a message was not processed, after its red-flag warning if it holds a red flag."""
        logger.info("A web chat message was not processed: it came outside its connection's session")
        await self._guard.refuse(text, SocketIOOutput(self.sio, self.bot_message_evt), sid, NOT_IN_THIS_SESSION)

    def _readable(self, data: Any) -> bool:
        return (
            isinstance(data, dict)
            and isinstance(data.get("message", ""), str)
            and isinstance(data.get("session_id", ""), (str, type(None)))
            and isinstance(data.get(self.metadata_key, {}), dict)
        )
