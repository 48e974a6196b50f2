"""Which database holds the conversations, from the environment.

`DB_URL` (an SQLAlchemy URL such as postgresql://user:secret@db:5432/assistant), or `DB_HOST`
with `DB_USER`, `DB_PASSWORD`, `DB_NAME` (or `DB_DATABASE`, as Rasa's Helm chart names it) and
`DB_PORT` for PostgreSQL; otherwise a SQLite file
in `var/`, which git ignores. One place for it, so the server, the purge command, the gaps report
and the start-up check always open the same database.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SQLITE = ROOT / "var" / "conversations.db"
CONNECT_TIMEOUT_SECONDS = 5


# Rasa's SQL tracker store table, with the columns our commands read (make purge, make gaps).
EVENTS = sa.table("events", sa.column("sender_id"), sa.column("type_name"), sa.column("intent_name"),
                  sa.column("timestamp"), sa.column("data"))


class DatabaseError(RuntimeError):
    """The database cannot be reached or used; the message says which and why."""


def database_url(environment: dict[str, str] | None = None) -> URL:
    env = os.environ if environment is None else environment
    if env.get("DB_URL"):
        return make_url(env["DB_URL"])
    if env.get("DB_HOST"):
        return URL.create(
            "postgresql", username=env.get("DB_USER") or None, password=env.get("DB_PASSWORD") or None,
            host=env["DB_HOST"], port=int(env["DB_PORT"]) if env.get("DB_PORT") else None,
            database=env.get("DB_NAME") or env.get("DB_DATABASE") or "assistant",
        )
    return URL.create("sqlite", database=str(DEFAULT_SQLITE))


def describe(url: URL) -> str:
    """The URL without its password, for messages and logs."""
    return url.render_as_string(hide_password=True)


def make_sqlite_folder(url: URL) -> None:
    """SQLite creates the file, not the folder it goes in."""
    if url.get_backend_name() == "sqlite" and url.database:
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)


def engine(url: URL | None = None, **server_options: Any) -> sa.engine.Engine:
    """An engine for `url`; `server_options` go to SQLAlchemy for a database server (the tracker
    store passes Rasa's pool sizes).

    On a database server, a pooled connection is checked before each use: after the server
    restarts, every pooled connection is dead, and without the check the first query on each
    one fails. Connecting gives up after CONNECT_TIMEOUT_SECONDS instead of hanging."""
    url = url or database_url()
    make_sqlite_folder(url)
    if url.get_backend_name() == "sqlite":
        return sqlite_engine(url)
    connect_args = {"connect_timeout": CONNECT_TIMEOUT_SECONDS, **server_options.pop("connect_args", {})}
    return sa.create_engine(url, connect_args=connect_args, pool_pre_ping=True, **server_options)


def sqlite_engine(url: URL) -> sa.engine.Engine:
    """SQLite with its connections kept open and written ahead (WAL): committing a turn was a tenth
    of the server's time per message with a new connection and a synced journal each time. With
    synchronous=NORMAL a power cut may lose the last turns, never corrupt the file; a crash of
    the server loses nothing. With secure_delete, deleted rows are overwritten with zeros, not
    just marked free: forget-me and the retention purge leave nothing readable in the file."""
    sqlite = sa.create_engine(url, poolclass=sa.pool.QueuePool, connect_args={"check_same_thread": False})

    @sa.event.listens_for(sqlite, "connect")
    def _write_ahead(connection: Any, _record: Any) -> None:
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    return sqlite


def erase_deleted(engine: sa.engine.Engine) -> None:
    """After deleting conversations, on SQLite: copy the write-ahead log into the file and empty it.
    secure_delete zeroes the rows in the file, but the log still holds the pages as they were when
    the rows were written, until a checkpoint reuses it. A database server reclaims deleted rows
    itself (PostgreSQL's autovacuum)."""
    if engine.url.get_backend_name() != "sqlite":
        return
    with engine.connect() as connection:
        busy, _, _ = connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
    if busy:  # a reader in the middle of a transaction: the next checkpoint will empty the log
        logger.warning("The write-ahead log of %s could not be emptied yet after a deletion", describe(engine.url))


def check(url: URL | None = None) -> None:
    """Connect once; DatabaseError naming the database if that fails. Rasa's own SQL store
    retries a missing database forever, so the servers are started only after this passes."""
    url = url or database_url()
    try:
        with engine(url).connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except Exception as error:  # every driver raises its own kind
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        raise DatabaseError(f"Cannot reach the conversation database {describe(url)}: {reason}") from None


def checked_or_exit() -> URL:
    """The configured database, once it answers; for commands, which stop with the reason if not."""
    url = database_url()
    try:
        check(url)
    except DatabaseError as error:
        print(f"{error}\nStart the database, or set DB_URL to one that runs (README: Conversations and privacy).",
              file=sys.stderr)
        raise SystemExit(1) from None
    return url


def main() -> int:
    print(f"Conversations are kept in {describe(checked_or_exit())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
