"""The lock store on a real Redis: tickets taken at the same moment by several servers' clients
are all different and all kept (Rasa 3.6's own store gave most of them the same number)."""

from __future__ import annotations

import asyncio
import threading

from rasa.core.lock_store import LockStore
from rasa.utils.endpoints import EndpointConfig

from stores import endpoints
from tests_scale.conftest import REDIS_PORT

CLIENTS = 8


def lock_stores(count: int) -> list[LockStore]:
    """As each Rasa server makes its own from the endpoints file `make run` writes."""
    config = endpoints.redis_lock_store(f"redis://127.0.0.1:{REDIS_PORT}/0")
    return [LockStore.create(EndpointConfig.from_dict(config)) for _ in range(count)]


def test_tickets_taken_at_the_same_moment_are_all_different_and_all_kept(redis):
    stores = lock_stores(CLIENTS)
    start_together = threading.Barrier(CLIENTS)
    tickets: list[int] = []

    def take_ticket(store: LockStore) -> None:
        start_together.wait()
        tickets.append(store.issue_ticket("same-moment"))

    threads = [threading.Thread(target=take_ticket, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(tickets) == list(range(CLIENTS))
    assert len(stores[0].get_lock("same-moment").tickets) == CLIENTS
    for store, ticket in zip(stores, tickets):
        store.cleanup("same-moment", ticket)
    assert stores[0].get_lock("same-moment") is None, "the lock goes with its last ticket"


def test_a_lock_is_held_in_turn_and_gone_after_the_last_holder(redis):
    first, second = lock_stores(2)
    order: list[str] = []

    async def hold(store: LockStore, name: str) -> None:
        async with store.lock("in-turn", wait_time_in_seconds=0.05):
            order.append(f"{name} in")
            await asyncio.sleep(0.2)
            order.append(f"{name} out")

    async def both() -> None:
        await asyncio.gather(hold(first, "first"), hold(second, "second"))

    asyncio.run(both())
    assert order == ["first in", "first out", "second in", "second out"]
    assert first.get_lock("in-turn") is None
