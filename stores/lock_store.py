"""Rasa's lock stores, which queue the messages of one conversation, made quick and safe.

Rasa's stores check a waiting message's turn once a second, so the messages of one conversation
sent close together were answered about one a second however fast each turn was. Here a waiting
message is woken the moment the turn before it ends (one server, in memory), or checks every
REDIS_POLL_S (several servers, through Redis, where the turn may end on another server).


Rasa queues the messages of a conversation with a ticket lock kept in Redis. Rasa 3.6's
RedisLockStore reads the lock, changes it and writes it back in separate calls, so two servers
taking a ticket at the same moment both read the same lock, both get the same number, and the
second write drops the first ticket: both servers then handle the conversation together and the
turn saved second is lost (tests_scale shows it). Here every change to a lock is one Redis
transaction, retried if another server changed the lock in between; a lock with no ticket left
is deleted in the same step, so it cannot vanish under a server still waiting on it.
"""

from __future__ import annotations

import asyncio
import json
from typing import AsyncContextManager, Callable, TypeVar

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, InMemoryLockStore, LockError, RedisLockStore
from rasa.utils.endpoints import EndpointConfig
from redis.client import Pipeline

Result = TypeVar("Result")

REDIS_POLL_S = 0.05
# How long a waiting message sleeps at most before it looks again, in case a turn's lock expired
# instead of being released (Rasa's own wait).
IN_MEMORY_RECHECK_S = 1.0


class WakingInMemoryLockStore(InMemoryLockStore):
    """Rasa's in-memory lock store, whose waiting messages are woken when a turn ends."""

    def __init__(self, endpoint_config: EndpointConfig | None = None) -> None:
        super().__init__()
        self._turn_ended: dict[str, asyncio.Event] = {}

    async def _acquire_lock(self, conversation_id: str, ticket: int, wait_time_in_seconds: float) -> TicketLock:
        """Rasa's loop, with its sleep cut short when a turn of the conversation ends."""
        while True:
            lock = self.get_lock(conversation_id)
            if not lock:
                raise LockError(f"Could not acquire lock for conversation_id '{conversation_id}'.")
            if not lock.is_locked(ticket):
                return lock
            turn_ended = self._turn_ended.setdefault(conversation_id, asyncio.Event())
            try:
                await asyncio.wait_for(turn_ended.wait(), IN_MEMORY_RECHECK_S)
            except asyncio.TimeoutError:
                pass
            self.update_lock(conversation_id)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        super().cleanup(conversation_id, ticket_number)
        turn_ended = self._turn_ended.pop(conversation_id, None)
        if turn_ended is not None:
            turn_ended.set()


class AtomicRedisLockStore(RedisLockStore):
    def __init__(self, endpoint_config: EndpointConfig) -> None:
        super().__init__(host=endpoint_config.url, **endpoint_config.kwargs)

    def lock(
        self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME, wait_time_in_seconds: float = REDIS_POLL_S,
    ) -> AsyncContextManager[TicketLock]:
        """Rasa's, checking a waiting message's turn every REDIS_POLL_S instead of every second."""
        return super().lock(conversation_id, lock_lifetime, wait_time_in_seconds)

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        try:
            return self._change(conversation_id, lambda lock: lock.issue_ticket(lock_lifetime))
        except Exception as error:  # as Rasa's own: any failure to take a ticket is a LockError
            raise LockError(f"Error while acquiring lock. Error:\n{error}") from error

    def update_lock(self, conversation_id: str) -> None:
        self._change(conversation_id, lambda lock: lock.remove_expired_tickets())

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        self._change(conversation_id, lambda lock: lock.remove_ticket_for(ticket_number))

    def _change(self, conversation_id: str, change: Callable[[TicketLock], Result]) -> Result:
        key = self.key_prefix + conversation_id

        def in_transaction(pipe: Pipeline) -> Result:
            stored = pipe.get(key)
            lock = TicketLock.from_dict(json.loads(stored)) if stored else self.create_lock(conversation_id)
            result = change(lock)
            pipe.multi()
            if lock.is_someone_waiting():
                pipe.set(key, lock.dumps())
            else:
                pipe.delete(key)
            return result

        return self.red.transaction(in_transaction, key, value_from_callable=True)
