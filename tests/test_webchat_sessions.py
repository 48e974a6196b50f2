"""Web chat sessions belong to one browser: two real socket.io clients over real HTTP against the
running assistant (`make run`'s servers), the second trying every way into the first's
conversation. The clients are programs (python-socketio, long-polling), as an attacker's would be;
the browser's side, and a page on another site, are in test_webchat.py."""

from __future__ import annotations

import asyncio
import json
import os
import queue
import sqlite3
from pathlib import Path

import aiohttp
import pytest
import socketio

from channels.webchat import NOT_IN_THIS_SESSION
from channels.webchat_session import SEPARATOR
from pain_assistant import red_flags

SERVER = "http://localhost:5005"
DEMO_PAGE_ORIGIN = "http://localhost:8080"
REPLY_TIMEOUT = 60  # s; the first answers after start-up can be slow on 2 cores
DETECTOR = red_flags.load(region="us")
CRISIS_MESSAGE = "I want to kill myself"
CRISIS_WARNING = DETECTOR.detect(CRISIS_MESSAGE)[0].flag.reply.split("\n\n")[0]
STROKE_MESSAGE = "my face is drooping and my arm is weak"
STROKE_WARNING = DETECTOR.get("stroke").reply.split("\n\n")[0]


class ChatClient:
    """One socket.io connection to the web chat, keeping everything the server sends it."""

    def __init__(self, origin: str | None = None) -> None:
        self.replies: queue.Queue[str] = queue.Queue()
        self._confirmations: queue.Queue[str] = queue.Queue()
        self._client = socketio.Client(reconnection=False)
        self._client.on("bot_uttered", lambda reply: self.replies.put(reply.get("text", "")))
        self._client.on("session_confirm", self._confirmations.put)
        self._client.connect(SERVER, headers={"Origin": origin} if origin else {}, transports=["polling"],
                             wait_timeout=REPLY_TIMEOUT)

    def request_session(self, session_id: object = None) -> str:
        self._client.emit("session_request", {"session_id": session_id})
        return self._confirmations.get(timeout=REPLY_TIMEOUT)

    def say(self, message: str, session_id: str | None) -> None:
        self._client.emit("user_uttered", {"message": message, "session_id": session_id})

    def say_without_a_session_id(self, message: str) -> None:
        self._client.emit("user_uttered", {"message": message})

    def replies_until(self, expected: str) -> list[str]:
        """Every reply received up to and including the first that holds `expected`; a failure if
        none does within the timeout."""
        received: list[str] = []
        while not received or expected not in received[-1]:
            try:
                received.append(self.replies.get(timeout=REPLY_TIMEOUT))
            except queue.Empty:
                pytest.fail(f"no reply holding {expected!r} came; the replies were {received}")
        return received

    def close(self) -> None:
        self._client.disconnect()


@pytest.fixture
def clients(assistant):
    """Make clients; each is disconnected after the test."""
    made: list[ChatClient] = []

    def make(origin: str | None = DEMO_PAGE_ORIGIN) -> ChatClient:
        made.append(ChatClient(origin))
        return made[-1]

    yield make
    for client in made:
        client.close()


def stored_senders() -> set[str]:
    database = Path(os.environ["DB_URL"].removeprefix("sqlite:///"))
    with sqlite3.connect(database) as connection:
        return {sender for (sender,) in connection.execute("SELECT DISTINCT sender_id FROM events")}


def forged_from(session_id: str) -> list[object]:
    random_part, _, signature = session_id.partition(SEPARATOR)
    other_signature = ("A" if signature[0] != "A" else "B") + signature[1:]
    return ["1", random_part, random_part + SEPARATOR + other_signature, session_id + "A", session_id[:-1],
            "0123456789abcdef0123456789abcdef", 42, None]


def test_a_second_client_gets_nothing_of_another_s_conversation(clients, knowledge_base):
    leg_pain = knowledge_base["leg_pain"]
    first = clients()
    session = first.request_session()
    first.say("why do my legs hurt", session)
    first.replies_until(leg_pain.see_clinician)

    second = clients()
    for forged in forged_from(session):
        assert second.request_session(forged) != session  # a new session of its own, not the first's
    own_session = second.request_session(None)
    # Messages in the first's session, with or without a session request, are not processed: a
    # red flag still gets its warning, and a "forget me" deletes nothing.
    second.say(CRISIS_MESSAGE, session)
    assert second.replies_until(NOT_IN_THIS_SESSION) == [CRISIS_WARNING, NOT_IN_THIS_SESSION]
    second.say("forget me", session)
    assert second.replies_until(NOT_IN_THIS_SESSION) == [NOT_IN_THIS_SESSION]
    assert session in stored_senders()

    # The first's conversation goes on where it was, and the second hears none of it.
    first.say("tell me more", session)
    first.replies_until(leg_pain.more.split("\n\n")[0])
    first.say(CRISIS_MESSAGE, session)
    first.replies_until(CRISIS_WARNING)
    # What the server sent the second before it answers this, it has received by then.
    second.say("why do my legs hurt", own_session)
    heard = second.replies_until(leg_pain.see_clinician)
    assert CRISIS_WARNING not in heard and leg_pain.more.split("\n\n")[0] not in heard
    assert session in stored_senders()


def test_a_client_that_requested_no_session_gets_a_clear_reply_and_its_red_flag_warning(clients):
    client = clients()
    client.say(STROKE_MESSAGE, "a-session-it-never-requested")
    assert client.replies_until(NOT_IN_THIS_SESSION) == [STROKE_WARNING, NOT_IN_THIS_SESSION]
    session = client.request_session()
    client.say_without_a_session_id("why do my legs hurt")
    assert client.replies_until(NOT_IN_THIS_SESSION) == [NOT_IN_THIS_SESSION]
    client.say(STROKE_MESSAGE, session)  # in its own session, it is answered as usual
    client.replies_until(STROKE_WARNING)


def test_the_browser_that_holds_a_session_resumes_it_and_starting_over_leaves_it(clients, knowledge_base):
    leg_pain = knowledge_base["leg_pain"]
    before_the_reload = clients()
    session = before_the_reload.request_session()
    before_the_reload.say("why do my legs hurt", session)
    before_the_reload.replies_until(leg_pain.see_clinician)
    before_the_reload.close()

    after_the_reload = clients()
    assert after_the_reload.request_session(session) == session
    after_the_reload.say("tell me more", session)
    after_the_reload.replies_until(leg_pain.more.split("\n\n")[0])

    other_tab = clients()
    assert other_tab.request_session(session) == session
    fresh_session = other_tab.request_session(None)  # "Start over"
    after_the_reload.say(CRISIS_MESSAGE, session)
    after_the_reload.replies_until(CRISIS_WARNING)
    other_tab.say("why do my legs hurt", fresh_session)
    assert CRISIS_WARNING not in other_tab.replies_until(leg_pain.see_clinician)
    other_tab.say("tell me more", session)  # nor can it write in the old one any more
    assert other_tab.replies_until(NOT_IN_THIS_SESSION) == [NOT_IN_THIS_SESSION]


def test_a_foreign_origin_is_refused_at_the_handshake(clients):
    with pytest.raises(socketio.exceptions.ConnectionError):
        clients("https://attacker.example")
    with pytest.raises(socketio.exceptions.ConnectionError):
        clients("null")  # a sandboxed frame or a file opened from disk
    for allowed in (DEMO_PAGE_ORIGIN, "http://127.0.0.1:8080", None):  # None: a program that sends no Origin
        assert clients(allowed).request_session()



async def _send_over_a_websocket(message: str) -> list[str]:
    """Speak socket.io's wire protocol over a raw websocket, as a browser's client does (the
    python-socketio client here can only long-poll, whose requests Sanic's body limit bounds):
    request a session, send `message` in it, and return what comes back until the server closes
    the socket or a reply arrives."""
    received: list[str] = []
    async with aiohttp.ClientSession() as session, session.ws_connect(
        SERVER.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket", headers={"Origin": DEMO_PAGE_ORIGIN},
    ) as socket:
        await socket.receive()  # engine.io's open packet
        await socket.send_str("40")  # join the default namespace
        await socket.receive()
        await socket.send_str('42["session_request",{"session_id":null}]')
        session_id = json.loads((await socket.receive()).data[2:])[1]
        await socket.send_str("42" + json.dumps(["user_uttered", {"message": message, "session_id": session_id}]))
        while True:
            packet = await asyncio.wait_for(socket.receive(), REPLY_TIMEOUT)
            if packet.type != aiohttp.WSMsgType.TEXT:
                return received
            if packet.data == "2":  # engine.io's ping
                await socket.send_str("3")
            elif packet.data.startswith("42"):
                received.append(packet.data)
                return received


def test_a_websocket_message_over_the_size_limit_is_not_read_and_stops_nothing(clients):
    """engine.io would read a megabyte; the server reads no more than the input guard's limit,
    closing the socket of a client that sends more."""
    assert "too long" in asyncio.run(_send_over_a_websocket("my legs ache " * 1_000))[0]  # 13 KB: read, then the limit
    assert asyncio.run(_send_over_a_websocket("my legs ache " * 25_000)) == []  # 325 KB: not read
    fresh = clients()
    fresh.say(STROKE_MESSAGE, fresh.request_session())
    fresh.replies_until(STROKE_WARNING)
