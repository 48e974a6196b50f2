"""Two Rasa servers on one PostgreSQL tracker store and one Redis lock store act as one assistant:
a conversation can move between them turn by turn, and many conversations can run at once."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import aiohttp
import yaml

from pain_assistant import knowledge, leg_check
from tests import servers
from tests_scale.conftest import NGINX_PORT, RASA_PORTS
from tests_scale.services import UPSTREAM_HEADER, PostgreSQL, server_port

DOMAIN = yaml.safe_load((servers.ROOT / "domain.yml").read_text())
# Seven different ways of saying no, one per question of the leg check.
ANSWERS = ("no", "nope", "not really", "no never", "none of that", "I don't think so", "no falls")
LEG_CHECK_RESULT = leg_check.result(knowledge.load())[0].text
CONCURRENT_CONVERSATIONS = 20
CONVERSATION = ("why do my legs hurt", "tell me more", "what is baclofen for")
SAME_TIME_MESSAGES_PER_SERVER = 3
SAME_TIME_BURSTS = 5


def question(slot: str) -> str:
    return DOMAIN["responses"][f"utter_ask_{slot}"][0]["text"]


def leg_check_turns() -> list[tuple[str, str]]:
    """(message, what the reply must hold): the start, then a "no" to each question in turn."""
    expected = [question(slot) for slot in leg_check.SLOTS] + [LEG_CHECK_RESULT]
    return list(zip(("check my leg pain", *ANSWERS), expected))


def assert_the_leg_check_is_stored_whole(postgres: PostgreSQL, sender: str) -> None:
    events = postgres.events(sender)
    assert [event.data["text"] for event in events if event.type_name == "user"] == \
        ["check my leg pain", *ANSWERS], "every turn is stored, in order"
    answered = {event.data["name"] for event in events if event.type_name == "slot" and event.data["value"] == "no"}
    assert answered == set(leg_check.SLOTS), "every question's answer is stored"


def test_a_conversation_moves_between_the_servers_turn_by_turn_and_keeps_its_form(rasa_servers, postgres):
    sender = "alternating-direct"
    for (message, expected), port in zip(leg_check_turns(), itertools.cycle(RASA_PORTS)):
        reply = servers.joined(servers.ask(sender, message, port))
        assert expected in reply, f"port {port} lost the form's place at {message!r}: {reply[:200]}"
    assert_the_leg_check_is_stored_whole(postgres, sender)


def test_a_conversation_through_nginx_is_answered_by_both_servers_and_keeps_its_form(nginx, postgres):
    sender = "alternating-nginx"
    answered_by = []
    for message, expected in leg_check_turns():
        turn = nginx.ask(sender, message)
        assert expected in servers.joined(turn.reply), f"lost the form's place at {message!r}"
        answered_by.append(turn.server_port)
    assert set(answered_by) == set(RASA_PORTS), f"nginx sent every turn to one server: {answered_by}"
    assert_the_leg_check_is_stored_whole(postgres, sender)


async def converse(session: aiohttp.ClientSession, sender: str) -> list[tuple[int, int, list[dict]]]:
    """One conversation's turns in order: (HTTP status, the server that answered, the reply)."""
    turns = []
    for message in CONVERSATION:
        async with session.post(f"http://127.0.0.1:{NGINX_PORT}/webhooks/rest/webhook",
                                json={"sender": sender, "message": message}) as response:
            reply = await response.json() if response.status == 200 else []
            turns.append((response.status, server_port(response.headers.get(UPSTREAM_HEADER)), reply))
    return turns


async def converse_all(senders: list[str]) -> list[list[tuple[int, int, list[dict]]]]:
    timeout = aiohttp.ClientTimeout(total=300)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        return await asyncio.gather(*(converse(session, sender) for sender in senders))


def test_twenty_conversations_at_once_through_nginx_get_every_reply_and_keep_every_turn(nginx, postgres):
    senders = [f"concurrent-{number}" for number in range(CONCURRENT_CONVERSATIONS)]
    conversations = asyncio.run(converse_all(senders))
    for sender, turns in zip(senders, conversations):
        for message, (status, _, reply) in zip(CONVERSATION, turns):
            assert status == 200, (sender, message, status)
            assert reply and all(part.get("text", "").strip() for part in reply), (sender, message, reply)
        assert postgres.user_texts(sender) == list(CONVERSATION), sender
    served = Counter(port for turns in conversations for _, port, _ in turns)
    assert set(served) == set(RASA_PORTS), f"one server took everything: {served}"


def test_messages_sent_at_once_to_both_servers_for_one_conversation_are_all_kept(rasa_servers, postgres):
    """The lock store queues them: both servers would otherwise read the same tracker, and the
    second to save would drop the first one's turn. A collision is a matter of timing, so the
    messages go in several bursts."""
    sender = "same-time"
    sent = []
    with ThreadPoolExecutor(max_workers=SAME_TIME_MESSAGES_PER_SERVER * len(RASA_PORTS)) as pool:
        for burst in range(SAME_TIME_BURSTS):
            messages = [f"what is the ms hug? (burst {burst}, message {number})"
                        for number in range(SAME_TIME_MESSAGES_PER_SERVER * len(RASA_PORTS))]
            replies = list(pool.map(lambda message, port: servers.ask(sender, message, port),
                                    messages, itertools.cycle(RASA_PORTS)))
            assert all(servers.joined(reply).strip() for reply in replies)
            sent += messages
    assert sorted(postgres.user_texts(sender)) == sorted(sent)
