"""Delete conversations nobody has written to for longer than the retention period.

    python -m stores.retention [--days 30]      (make purge)

A conversation goes as a whole once its newest event is older than the period, so nothing is
left half-kept. The period defaults to RETENTION_DAYS, or 30 days.
"""

from __future__ import annotations

import argparse
import os
import time

import sqlalchemy as sa

from stores import database

DEFAULT_DAYS = 30
SECONDS_PER_DAY = 86_400


def purge(engine: sa.engine.Engine, days: float, now: float | None = None) -> list[str]:
    """Delete every conversation whose newest event is older than `days`; their sender ids."""
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
    return stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=float, default=float(os.environ.get("RETENTION_DAYS") or DEFAULT_DAYS),
                        help="retention period in days (default: RETENTION_DAYS or 30)")
    days = parser.parse_args(argv).days
    if days <= 0:
        parser.error("--days must be more than 0")
    url = database.checked_or_exit()
    deleted = purge(database.engine(url), days)
    print(f"Deleted {len(deleted)} conversation(s) older than {days:g} days from {database.describe(url)}.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
