"""Delete conversations nobody has written to for longer than the retention period.

    python -m stores.retention [--days 30]                      (make purge: once)
    python -m stores.retention [--days 30] --every-hours [N]    (make run: now and every N hours)

A conversation goes as a whole once its newest event is older than the period, so nothing is
left half-kept, and nothing readable is left in the file (`database.erase_deleted`). The period
defaults to RETENTION_DAYS, or 30 days. With --every-hours the command keeps running until it is
signalled, so the database never grows without bound (about 28 MB a minute at 105 messages a
second); N defaults to RETENTION_EVERY_HOURS, or 24. A round that fails (the database away) is
reported and the next round tries again: the purge never stops the assistant.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from typing import Callable

import sqlalchemy as sa

from stores import database

DEFAULT_DAYS = 30
DEFAULT_EVERY_HOURS = 24
SECONDS_PER_DAY = 86_400
SECONDS_PER_HOUR = 3_600


def purge(engine: sa.engine.Engine, days: float, now: float | None = None) -> list[str]:
    """Delete every conversation whose newest event is older than `days`; their (stored) sender ids."""
    cutoff = (time.time() if now is None else now) - days * SECONDS_PER_DAY
    events = database.EVENTS
    with engine.begin() as connection:
        if not sa.inspect(connection).has_table("events"):
            return []
        stale = [
            sender for (sender,) in connection.execute(
                sa.select(events.c.sender_id).group_by(events.c.sender_id)
                .having(sa.func.max(events.c.timestamp) < cutoff)
            )
        ]
        if stale:
            connection.execute(sa.delete(events).where(events.c.sender_id.in_(stale)))
    if stale:
        database.erase_deleted(engine)
    return stale


def purge_every(engine: sa.engine.Engine, days: float, every_hours: float, stop: threading.Event,
                say: Callable[[str], None]) -> None:
    """Purge now and then every `every_hours` until `stop` is set."""
    where = database.describe(engine.url)
    while True:
        try:
            deleted = purge(engine, days)
            say(f"Retention: deleted {len(deleted)} conversation(s) older than {days:g} days from {where}.")
        except sa.exc.SQLAlchemyError as error:
            reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
            say(f"Retention: could not purge {where} ({reason}); trying again in {every_hours:g} hours.")
        if stop.wait(every_hours * SECONDS_PER_HOUR):
            return


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=float,
                        default=float(os.environ.get("RETENTION_DAYS") or DEFAULT_DAYS),
                        help="retention period in days (default: RETENTION_DAYS or 30)")
    parser.add_argument("--every-hours", type=float, nargs="?", metavar="N",
                        const=float(os.environ.get("RETENTION_EVERY_HOURS") or DEFAULT_EVERY_HOURS),
                        help="keep running and purge every N hours, until signalled "
                             "(N defaults to RETENTION_EVERY_HOURS or 24)")
    arguments = parser.parse_args(argv)
    if arguments.days <= 0 or (arguments.every_hours is not None and arguments.every_hours <= 0):
        parser.error("--days and --every-hours must be more than 0")
    url = database.checked_or_exit()
    if arguments.every_hours is None:
        deleted = purge(database.engine(url), arguments.days)
        print(f"Deleted {len(deleted)} conversation(s) older than {arguments.days:g} days from {database.describe(url)}.")
        return 0
    stop = threading.Event()
    for signal_number in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signal_number, lambda *_: stop.set())
    purge_every(database.engine(url), arguments.days, arguments.every_hours, stop,
                say=lambda line: print(line, file=sys.stderr, flush=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
