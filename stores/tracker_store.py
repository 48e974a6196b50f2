"""Rasa's SQL tracker store, with four things added before anything is written.

- Personal data in every stored event that can hold what a person typed becomes placeholders
  (`pain_assistant.redaction`): user text, parse data, metadata, slot values such as the leg
  check's free-text answers. The assistant's own replies are stored as they are.
- A sender id that is itself personal data (an email address or a phone number, as some
  integrations use) is stored as a keyed hash (`stored_sender_id`), in every query the store
  makes: the same id gives the same hash on every server and after restarts, so the conversation
  goes on and forget-me finds it, while the rows name nobody.
- A "forget me" turn deletes the sender's whole conversation instead of storing it, leaving
  nothing readable in the database file (`stores.database.erase_deleted`).
- The database comes from `stores.database` (SQLite in var/ unless DB_URL or DB_HOST say otherwise).

And it keeps each conversation in memory between turns (`stores.tracker_cache`), checked against
the database on every turn: kept only when it is exactly what reading the database would give,
that is when the turn's new events were stored as they were (nothing to redact) and began no new
session (Rasa reads back only the latest session).

Its save is Rasa's with the rows written in one statement (Rasa builds an ORM object for each
event and inserts them one by one: saving was 15% of the server's time, measured with py-spy),
each event turned into JSON once, the redacted form when redaction changed it. The rows are
Rasa's: Rasa's own reading gives back the same conversation (tests/test_tracker_cache.py).

Rasa wraps every tracker store in its FailSafeTrackerStore: if the database goes away, a turn is
still answered (the tracker starts afresh) and the error is logged; turns are stored again once
the database is back, the first one after a restart included.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import itertools
import json
import logging
from functools import lru_cache
from typing import Any, Iterator, Optional, Sequence

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore, create_engine_kwargs, ensure_schema_exists
from rasa.shared.core.events import ActionExecuted, BotUttered, Event, SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from sqlalchemy.orm import Query, Session, sessionmaker

from pain_assistant import server_secret
from pain_assistant.redaction import redact, redact_strings
from stores import database
from stores.log_redaction import redact_logs
from stores.tracker_cache import Stamp, TrackerCache

logger = logging.getLogger(__name__)

FORGET_ME_INTENT = "forget_me"
# Events that hold only what the assistant said or did, never what a person typed: stored as they
# are, so a reply giving the helpline's number keeps it.
OUR_OWN_WORDS = (BotUttered, ActionExecuted)
HASHED_SENDER_PREFIX = "hmac_"


@lru_cache(maxsize=1024)
def stored_sender_id(sender_id: str) -> str:
    """The id the database keeps for `sender_id`: the id itself, or a keyed hash of it when
    redaction would change it (an email address, a phone number, a name). A hash is one word of
    letters and digits, which redaction leaves alone, so a stored id maps to itself (Rasa's keys()
    hands stored ids back to retrieve())."""
    if redact(sender_id) == sender_id:
        return sender_id
    key = server_secret.derived_key("sender-id")
    return HASHED_SENDER_PREFIX + hmac.new(key, sender_id.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


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
        self.cache = TrackerCache()
        self._stamp_statement = sa.select(sa.func.count(self.SQLEvent.id), sa.func.max(self.SQLEvent.timestamp)).where(
            self.SQLEvent.sender_id == sa.bindparam("sender_id"))
        logger.info("Conversations are kept in %s", database.describe(url))

    async def retrieve(self, sender_id: str) -> Optional[DialogueStateTracker]:
        stamp = self._stamp(sender_id)
        kept = self.cache.get(sender_id, stamp)
        if kept is not None:
            return kept
        tracker = await super().retrieve(sender_id)
        if tracker is not None:
            # Stamped before reading: a row added meanwhile makes the next turn read again.
            self.cache.keep(tracker, stamp)
        return tracker

    async def save(self, tracker: DialogueStateTracker) -> None:
        sender_id = tracker.sender_id
        if _asks_to_be_forgotten(tracker):
            self.cache.let_go(sender_id)
            await self.forget(sender_id)
            return
        # Asked before streaming: with an event broker, stream_events reads the conversation back.
        stored = self.cache.stored(tracker)
        await self.stream_events(tracker)
        try:
            with self.session_scope() as session:
                new_events = (list(itertools.islice(tracker.events, stored.events, None)) if stored is not None
                              else list(self._additional_events(session, tracker)))
                rows, redacted = self._rows(sender_id, new_events)
                if rows:
                    session.execute(self.SQLEvent.__table__.insert(), rows)
                session.commit()
        except Exception:
            self.cache.let_go(sender_id)
            raise
        if stored is None or redacted or not _read_back_as_they_are(tracker, new_events):
            self.cache.let_go(sender_id)
            return
        # The lock on the conversation kept anyone else from storing in between.
        self.cache.keep(tracker, stored.stamp.after(new_events))

    async def forget(self, sender_id: str) -> int:
        """Delete every stored event of this sender; the number deleted."""
        with self.session_scope() as session:
            deleted = session.query(self.SQLEvent).filter(self.SQLEvent.sender_id == stored_sender_id(sender_id)).delete()
            session.commit()
        database.erase_deleted(self.engine)
        logger.info("Deleted the stored conversation of one sender on request (%d events)", deleted)
        return deleted

    @contextlib.contextmanager
    def session_scope(self) -> Iterator[Session]:
        """Rasa's, without its exit. Rasa takes any ValueError raised while a session is open for a
        missing PostgreSQL schema and stops the whole server: text that could not be encoded (a lone
        surrogate in a sender id) once did. Here an error goes to the caller, and Rasa's fail-safe
        store logs it and answers anyway; a missing schema is a DatabaseError saying so."""
        session = self.sessionmaker()
        try:
            try:
                ensure_schema_exists(session)
            except ValueError as missing:
                raise database.DatabaseError(
                    f"The PostgreSQL schema '{missing}' (POSTGRESQL_SCHEMA) does not exist: create it, or unset "
                    "POSTGRESQL_SCHEMA to use the default schema.") from None
            yield session
        finally:
            session.close()

    def _event_query(self, session: Session, sender_id: str, fetch_events_from_all_sessions: bool) -> Query:
        """Rasa's query for a conversation's events (retrieve, and which events save adds), by the stored id."""
        return super()._event_query(session, stored_sender_id(sender_id), fetch_events_from_all_sessions)

    @staticmethod
    def _rows(sender_id: str, events: Sequence[Event]) -> tuple[list[dict[str, Any]], bool]:
        """The `events` table's rows for these events, as Rasa's save writes them, and whether
        redaction changed any of them."""
        rows, redacted = [], False
        sender_id = stored_sender_id(sender_id)
        for event in events:
            data = event.as_dict()
            if not isinstance(event, OUR_OWN_WORDS):
                as_typed, data = data, redact_strings(data)
                redacted = redacted or data != as_typed
            rows.append({
                "sender_id": sender_id, "type_name": event.type_name, "timestamp": data.get("timestamp"),
                "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
                "action_name": data.get("name"), "data": json.dumps(data),
            })
        return rows, redacted

    def _stamp(self, sender_id: str) -> Stamp:
        # One SQL statement on a pooled connection: through an ORM session it took 0.8 ms a turn.
        with self.engine.connect() as connection:
            rows, last_timestamp = connection.execute(
                self._stamp_statement, {"sender_id": stored_sender_id(sender_id)}).one()
        return Stamp(rows, last_timestamp)


def _read_back_as_they_are(tracker: DialogueStateTracker, new_events: Sequence[Event]) -> bool:
    """Whether reading the conversation back would give all of the tracker's events: Rasa reads
    back the events at or after the latest session start, so not when one of the new events began
    a new session, or is older than the session's start."""
    session_start = next((event.timestamp for event in reversed(tracker.events) if isinstance(event, SessionStarted)), None)
    return not any(
        isinstance(event, SessionStarted) or (session_start is not None and event.timestamp < session_start)
        for event in new_events
    )


def _asks_to_be_forgotten(tracker: DialogueStateTracker) -> bool:
    """Whether the turn being saved is the person's request to delete their data."""
    latest = tracker.get_last_event_for(UserUttered)
    return latest is not None and latest.intent_name == FORGET_ME_INTENT
