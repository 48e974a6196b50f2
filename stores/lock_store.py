"""Rasa's Redis lock store, safe when one conversation's messages reach two servers at once.

Rasa queues the messages of a conversation with a ticket lock kept in Redis. Rasa 3.6's
RedisLockStore reads the lock, changes it and writes it back in separate calls, so two servers
taking a ticket at the same moment both read the same lock, both get the same number, and the
second write drops the first ticket: both servers then handle the conversation together and the
turn saved second is lost (tests_scale shows it). Here every change to a lock is one Redis
transaction, retried if another server changed the lock in between; a lock with no ticket left
is deleted in the same step, so it cannot vanish under a server still waiting on it.
"""

from __future__ import annotations

import json
from typing import Callable, TypeVar

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, RedisLockStore
from rasa.utils.endpoints import EndpointConfig
from redis.client import Pipeline

Result = TypeVar("Result")


class AtomicRedisLockStore(RedisLockStore):
    def __init__(self, endpoint_config: EndpointConfig) -> None:
        super().__init__(host=endpoint_config.url, **endpoint_config.kwargs)

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
