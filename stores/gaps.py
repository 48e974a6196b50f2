"""What people asked that the assistant could not answer, for content editors.

    python -m stores.gaps [--top 50]      (make gaps)

Reads the stored conversations (already redacted) and lists the messages that ended in the
"not sure" fallback or were out of scope, grouped by their wording and counted, most asked
first: the next topics to add to knowledge/ms_pain.yml.
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from dataclasses import dataclass

import sqlalchemy as sa

from stores import database

UNANSWERED_INTENTS = {"nlu_fallback": "not understood", "out_of_scope": "out of scope"}


@dataclass(frozen=True)
class Gap:
    reason: str
    wording: str
    count: int
    conversations: int


def normalise(text: str) -> str:
    """One wording for messages that differ only in case, spacing or punctuation."""
    return re.sub(r"\s+", " ", re.sub(r"[^\w\s\[\]']", " ", text.lower())).strip()


def gaps(engine: sa.engine.Engine) -> list[Gap]:
    events = database.EVENTS
    counts: Counter[tuple[str, str]] = Counter()
    senders: dict[tuple[str, str], set[str]] = {}
    with engine.connect() as connection:
        if not sa.inspect(connection).has_table("events"):
            return []
        rows = connection.execute(
            sa.select(events.c.sender_id, events.c.intent_name, events.c.data)
            .where(events.c.type_name == "user", events.c.intent_name.in_(UNANSWERED_INTENTS))
        )
        for sender, intent, data in rows:
            wording = normalise(json.loads(data).get("text") or "")
            if wording:
                key = (UNANSWERED_INTENTS[intent], wording)
                counts[key] += 1
                senders.setdefault(key, set()).add(sender)
    return [Gap(reason, wording, count, len(senders[(reason, wording)]))
            for (reason, wording), count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))]


def report(found: list[Gap], top: int) -> str:
    if not found:
        return "No unanswered messages are stored."
    lines = ["| times | conversations | why | message |", "| ---: | ---: | --- | --- |"]
    lines += [f"| {gap.count} | {gap.conversations} | {gap.reason} | {gap.wording} |" for gap in found[:top]]
    if len(found) > top:
        lines.append(f"\n{len(found) - top} more wordings not shown (--top).")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", type=int, default=50, help="how many wordings to list (default 50)")
    top = parser.parse_args(argv).top
    url = database.checked_or_exit()
    print(f"Unanswered messages in {database.describe(url)}, most asked first:\n")
    print(report(gaps(database.engine(url)), top))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
