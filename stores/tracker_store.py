"""Rasa's SQL tracker store, with three things added before anything is written.

- Contact details in every stored event that can hold what a person typed become placeholders
  (`pain_assistant.redaction`): user text, parse data, slot values such as the leg check's
  free-text answers. The assistant's own replies are stored as they are.
- A "forget me" turn deletes the sender's whole conversation instead of storing it.
- The database comes from `stores.database` (SQLite in var/ unless DB_URL or DB_HOST say otherwise).

Rasa wraps every tracker store in its FailSafeTrackerStore: if the database goes away, a turn is
still answered (the tracker starts afresh) and the error is logged; turns are stored again once
the database is back, the first one after a restart included.
"""

from __future__ import annotations

import logging
from typing import Any, Iterator

from rasa.core.tracker_store import SQLTrackerStore, create_engine_kwargs
from rasa.shared.core.events import ActionExecuted, BotUttered, Event, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy.orm import sessionmaker

from pain_assistant.redaction import redact_strings
from stores import database
from stores.log_redaction import redact_logs

logger = logging.getLogger(__name__)

FORGET_ME_INTENT = "forget_me"
# Events that hold only what the assistant said or did, never what a person typed: stored as they
# are, so a reply giving the helpline's number keeps it.
OUR_OWN_WORDS = (BotUttered, ActionExecuted)


class RedactingSQLTrackerStore(SQLTrackerStore):
    def __init__(self, domain: Any = None, event_broker: Any = None, **_: Any) -> None:
        url = database.database_url()
        database.make_sqlite_folder(url)
        redact_logs()
        super().__init__(
            domain=domain, dialect=url.drivername, host=url.host, port=url.port, db=url.database,
            username=url.username, password=url.password, event_broker=event_broker,
        )
        # Rasa's engine, replaced by ours (stores.database.engine): on SQLite, connections kept open
        # and WAL; on a database server, Rasa's pool settings with each connection checked before
        # use. Rasa's own hands them out unchecked: once the database had restarted, each server's
        # next turn failed on a dead connection, was answered as a new conversation and not stored.
        self.engine.dispose()
        self.engine = database.engine(url, **create_engine_kwargs(url))
        self.sessionmaker = sessionmaker(bind=self.engine)
        logger.info("Conversations are kept in %s", database.describe(url))

    async def save(self, tracker: DialogueStateTracker) -> None:
        if _asks_to_be_forgotten(tracker):
            await self.forget(tracker.sender_id)
            return
        await super().save(tracker)

    async def forget(self, sender_id: str) -> int:
        """Delete every stored event of this sender; the number deleted."""
        with self.session_scope() as session:
            deleted = session.query(self.SQLEvent).filter(self.SQLEvent.sender_id == sender_id).delete()
            session.commit()
        logger.info("Deleted the stored conversation of one sender on request (%d events)", deleted)
        return deleted

    def _additional_events(self, session: Any, tracker: DialogueStateTracker) -> Iterator[Event]:
        for event in super()._additional_events(session, tracker):
            yield event if isinstance(event, OUR_OWN_WORDS) else Event.from_parameters(redact_strings(event.as_dict()))


def _asks_to_be_forgotten(tracker: DialogueStateTracker) -> bool:
    """Whether the turn being saved is the person's request to delete their data."""
    latest = tracker.get_last_event_for(UserUttered)
    return latest is not None and latest.intent_name == FORGET_ME_INTENT
