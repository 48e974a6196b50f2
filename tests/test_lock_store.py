"""The one-server lock store: one conversation's messages in turn, each woken as the one before ends.
(The Redis store, for several servers, is tested against a real Redis in tests_scale/.)"""

from __future__ import annotations

import asyncio

from stores import endpoints, lock_store
from stores.lock_store import WakingInMemoryLockStore


def test_twenty_messages_of_one_conversation_go_in_order_each_woken_by_the_last(monkeypatch):
    # With no waking, each waiter would sleep this long: the test would hit its guard instead.
    monkeypatch.setattr(lock_store, "IN_MEMORY_RECHECK_S", 3600)
    store = WakingInMemoryLockStore()
    order: list[int] = []
    inside: list[int] = []

    async def turn(number: int) -> None:
        async with store.lock("one-conversation"):
            inside.append(number)
            assert len(inside) == 1, "two turns of one conversation ran at once"
            await asyncio.sleep(0.001)
            order.append(number)
            inside.remove(number)

    async def all_turns() -> None:
        await asyncio.wait_for(asyncio.gather(*(turn(number) for number in range(20))), timeout=30)

    asyncio.run(all_turns())
    assert order == list(range(20))
    assert store.get_lock("one-conversation") is None


def test_other_conversations_do_not_wait(monkeypatch):
    monkeypatch.setattr(lock_store, "IN_MEMORY_RECHECK_S", 3600)
    store = WakingInMemoryLockStore()

    async def scenario() -> None:
        async with store.lock("first"):
            async with store.lock("second"):  # would never be granted if "first" held it up
                pass

    asyncio.run(asyncio.wait_for(scenario(), timeout=30))


def test_one_server_gets_the_waking_store_and_several_the_redis_one():
    assert endpoints.endpoints(5055, None)["lock_store"] == {"type": endpoints.IN_MEMORY_LOCK_STORE}
    assert endpoints.endpoints(5055, "redis://localhost:6379/0")["lock_store"]["type"] == endpoints.LOCK_STORE
