"""Conversations kept in memory between turns (stores/tracker_cache.py) are exactly what reading
the database gives, and are read again whenever the database or the tracker changed.

The conversations run through Rasa's own Agent with the trained model, the project's store on a
SQLite file of the test's own, and the real action server the `assistant` fixture starts."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import sys
from pathlib import Path
from unittest import mock

import pytest
from rasa.core.agent import Agent
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity
from rasa.utils.endpoints import EndpointConfig

from stores.tracker_cache import Stamp, TrackerCache
from stores.tracker_store import RedactingSQLTrackerStore
from tests import servers

sys.path.insert(0, str(servers.ROOT / "scripts"))
from load_generator import SCRIPTS, conversation  # noqa: E402

ACTION_SERVER = EndpointConfig(url="http://localhost:5055/webhook")
LEG_CHECK = ["can you check my leg pain", "no", "nope", "not really", "no", "no", "no", "no", "what helps with leg pain"]
CONTACT_DETAILS = ["hello", "my legs burn at night", "email me at jo.bloggs@example.org or ring 07700 900123", "tell me more",
                   "what is baclofen", "thanks"]
# "/session_start" begins a new session within the same tracker, as a long pause does.
NEW_SESSION = ["hello", "what is baclofen", "/session_start", "tell me more", "why do my legs hurt"]


def state(tracker: DialogueStateTracker | None) -> dict | None:
    """The tracker as the action server and the HTTP API get it: JSON. (A kept tracker holds what
    the classifier gave, numpy strings and floats and tuples; read back, they are str, float and
    lists, of the same values.)"""
    return None if tracker is None else json.loads(json.dumps(tracker.current_state(EventVerbosity.ALL)))


async def from_the_database(store: RedactingSQLTrackerStore, sender: str) -> DialogueStateTracker | None:
    """Rasa's own reading of the conversation, past the cache."""
    return await SQLTrackerStore.retrieve(store, sender)


class Server:
    """One Rasa server's worth: an Agent and its store, on the shared database file."""

    def __init__(self, database: Path, cache: TrackerCache | None = None) -> None:
        with mock.patch.dict(os.environ, {"DB_URL": f"sqlite:///{database}"}):
            self.store = RedactingSQLTrackerStore()
        if cache is not None:
            self.store.cache = cache
        self.agent = Agent.load(str(servers.MODEL), tracker_store=self.store, action_endpoint=ACTION_SERVER)

    async def say(self, sender: str, text: str) -> list[str]:
        return [reply.get("text") or reply.get("custom") for reply in await self.agent.handle_text(text, sender_id=sender)]

    async def converse(self, sender: str, *texts: str) -> None:
        for text in texts:
            await self.say(sender, text)


@pytest.fixture
def database(tmp_path) -> Path:
    return tmp_path / "conversations.db"


def scripts() -> dict[str, list[str]]:
    talks = {f"patient-{i}": conversation(i, 14) for i in range(len(SCRIPTS))}
    # An email address as the sender id is stored hashed: kept and read back all the same.
    return {**talks, "leg-check": LEG_CHECK, "contact-details": CONTACT_DETAILS, "new-session": NEW_SESSION,
            "ann.o'neill@example.org": LEG_CHECK}


def test_every_turn_served_from_memory_equals_the_database_and_the_replies_are_the_same(assistant, database, tmp_path):
    async def run() -> None:
        kept = Server(database)
        never_kept = Server(tmp_path / "another.db", cache=TrackerCache(max_conversations=0))
        from_memory = turns = 0
        for sender, messages in scripts().items():
            for text in messages:
                assert await kept.say(sender, text) == await never_kept.say(sender, text), (sender, text)
                served = await kept.store.retrieve(sender)
                assert state(served) == state(await from_the_database(kept.store, sender)), (sender, text)
                from_memory += served is await kept.store.retrieve(sender)
                turns += 1
        assert len(never_kept.store.cache) == 0
        assert from_memory > turns * 0.8, "nearly every turn should be served from memory"

    asyncio.run(run())


def test_a_turn_with_contact_details_is_not_kept_and_is_read_back_redacted(assistant, database):
    async def run() -> None:
        server = Server(database)
        await server.converse("jo", "hello", "what is baclofen")
        assert len(server.store.cache) == 1
        await server.say("jo", "ring me on 07700 900123")
        assert len(server.store.cache) == 0
        again = await server.store.retrieve("jo")
        assert "[phone]" in str(state(again)) and "900123" not in str(state(again))

    asyncio.run(run())


def test_a_turn_stored_by_another_server_is_read_from_the_database(assistant, database):
    async def run() -> None:
        first, second = Server(database), Server(database)
        await first.converse("ann", "hello", "my feet burn at night", "what is gabapentin for")
        before = await first.store.retrieve("ann")
        await second.say("ann", "tell me more")
        after = await first.store.retrieve("ann")
        assert after is not before
        assert state(after) == state(await from_the_database(first.store, "ann"))
        assert after.latest_message.text == "tell me more"

    asyncio.run(run())


def test_a_conversation_deleted_elsewhere_is_gone_from_memory_too(assistant, database):
    async def run() -> None:
        server = Server(database)
        await server.converse("bo", "hello", "why do my legs hurt")
        assert await server.store.retrieve("bo") is not None
        with sqlite3.connect(database) as connection:  # as `make purge` does from another process
            connection.execute("DELETE FROM events WHERE sender_id = 'bo'")
        assert await server.store.retrieve("bo") is None
        await server.say("bo", "hello")
        assert state(await server.store.retrieve("bo")) == state(await from_the_database(server.store, "bo"))

    asyncio.run(run())


def test_a_tracker_changed_by_a_turn_that_failed_before_storing_is_read_again(assistant, database):
    async def run() -> None:
        server = Server(database)
        await server.converse("cy", "hello", "what is spasticity")
        changed = await server.store.retrieve("cy")
        changed.update(UserUttered("this turn was never stored"))
        again = await server.store.retrieve("cy")
        assert again is not changed
        assert state(again) == state(await from_the_database(server.store, "cy"))

    asyncio.run(run())


def tracker(sender: str) -> DialogueStateTracker:
    return DialogueStateTracker.from_events(sender, [UserUttered("hi")])


STAMP = Stamp(rows=3, last_timestamp=1.5)


def test_the_cache_gives_back_a_tracker_only_for_the_same_stamp():
    cache = TrackerCache()
    kept = tracker("a")
    cache.keep(kept, STAMP)
    assert cache.get("a", STAMP) is kept
    assert cache.get("a", STAMP._replace(last_timestamp=2.5)) is None
    assert cache.get("a", STAMP) is None, "a tracker found stale is let go"


def test_the_cache_holds_at_most_its_size_and_lets_go_of_the_least_recently_used():
    cache = TrackerCache(max_conversations=2)
    for sender in ("a", "b"):
        cache.keep(tracker(sender), STAMP)
    assert cache.get("a", STAMP) is not None
    cache.keep(tracker("c"), STAMP)
    assert len(cache) == 2
    assert cache.get("b", STAMP) is None and cache.get("a", STAMP) is not None


def test_the_cache_lets_go_of_conversations_idle_too_long():
    now = [0.0]
    cache = TrackerCache(max_idle_s=60, clock=lambda: now[0])
    cache.keep(tracker("a"), STAMP)
    now[0] = 59.0
    assert cache.get("a", STAMP) is not None
    now[0] = 120.0
    assert cache.get("a", STAMP) is None and len(cache) == 0
