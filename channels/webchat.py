"""The web chat: Rasa's socket.io channel (at /socket.io), with the checks every channel makes.

The widget in `webchat/` talks to it. Rasa 3.6 never awaits `enter_room` when a session starts
(RasaHQ/rasa#13027), so with the python-socketio it pins, replies to a persistent session reach
no one; the session request is handled here instead. Rasa's own message handler reads
`data.get(...)` from whatever a client sends, so only a JSON object with a text `message` reaches
it; anything else is answered with a clear message. A message can arrive before the session
request that should precede it (socket.io sends what was typed while offline first when it
reconnects): the connection joins that session's room then, so the reply, a red-flag warning
above all, reaches it. Empty and over-long messages get the prompt or limit of
`pain_assistant.incoming`, and a "/" payload that holds a red flag is read as text.
"""

from __future__ import annotations

import uuid
from typing import Any, Awaitable, Callable

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.socketio import SocketIOInput
from sanic import Blueprint

from pain_assistant.incoming import reply_instead, unless_it_hides_a_red_flag

MAX_SESSION_ID = 128
UNREADABLE = "Sorry, I could not read that message. Please type your question again."

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


class WebChatInput(SocketIOInput):
    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        async def checked(message: UserMessage) -> None:
            instead = reply_instead(message.text or "")
            if instead is not None:
                await message.output_channel.send_text_message(message.sender_id, instead)
                return
            message.text = unless_it_hides_a_red_flag(message.text)
            await on_new_message(message)

        blueprint = super().blueprint(checked)
        self._only_readable_messages()
        return blueprint

    def _only_readable_messages(self) -> None:
        """Handle session requests, and put a guard in front of Rasa's handler of user messages."""
        assert self.sio is not None
        sio, namespace = self.sio, self.namespace or "/"
        rasa_handle_message = sio.handlers[namespace][self.user_message_evt]

        async def session_request(sid: str, data: Any = None) -> None:
            session_id = data.get("session_id") if isinstance(data, dict) else None
            if not (isinstance(session_id, str) and 0 < len(session_id) <= MAX_SESSION_ID):
                session_id = uuid.uuid4().hex
            if self.session_persistence:
                await sio.enter_room(sid, session_id, namespace=namespace)
            await sio.emit("session_confirm", session_id, room=sid, namespace=namespace)

        async def handle_message(sid: str, data: Any = None) -> None:
            if not self._readable(data):
                await sio.emit(self.bot_message_evt, {"text": UNREADABLE}, room=sid, namespace=namespace)
                return
            session_id = data.get("session_id")
            if self.session_persistence and session_id and session_id not in sio.rooms(sid, namespace=namespace):
                await sio.enter_room(sid, session_id, namespace=namespace)
            await rasa_handle_message(sid, data)

        sio.on("session_request", session_request, namespace=namespace)
        sio.on(self.user_message_evt, handle_message, namespace=namespace)

    def _readable(self, data: Any) -> bool:
        return (
            isinstance(data, dict)
            and isinstance(data.get("message", ""), str)
            and isinstance(data.get("session_id", ""), (str, type(None)))
            and isinstance(data.get(self.metadata_key, {}), dict)
        )
