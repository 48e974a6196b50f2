"""What the knowledge and red-flag files share: reading them, and checking sources and dates.

Editors fix these files without reading Python, so each check appends a message naming the
field to `problems` instead of stopping at the first, and the caller reports them all at once.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


# Entry and flag ids: stable, lowercase, safe in intent and response names.
ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")


class KnowledgeError(ValueError):
    """A file cannot be used; `problems` lists every reason, one line each."""

    def __init__(self, path: Path, problems: list[str]):
        self.path = path
        self.problems = problems
        lines = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(f"{path}: {len(problems)} problem(s):\n{lines}")


@dataclass(frozen=True)
class Source:
    title: str
    publisher: str
    url: str


def read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise KnowledgeError(path, [f"cannot read the file: {error.strerror}"]) from error
    except yaml.YAMLError as error:
        raise KnowledgeError(path, [f"not valid YAML: {error}"]) from error


def parse_sources(value: Any, problems: list[str]) -> tuple[Source, ...]:
    if value is None:
        problems.append("field 'sources': missing")
        return ()
    if not isinstance(value, list) or not value:
        problems.append("field 'sources': must list at least one source")
        return ()
    sources = []
    for number, source in enumerate(value, start=1):
        where = f"field 'sources' #{number}"
        if not isinstance(source, dict):
            problems.append(f"{where}: must have title, publisher and url")
            continue
        fields = {name: source.get(name) for name in ("title", "publisher", "url")}
        missing = [name for name, v in fields.items() if not isinstance(v, str) or not v.strip()]
        if missing:
            problems.append(f"{where}: missing {', '.join(missing)}")
        elif not re.match(r"^https?://\S+$", fields["url"].strip()):
            problems.append(f"{where}: url must start with https:// or http://")
        else:
            sources.append(Source(**{name: v.strip() for name, v in fields.items()}))
    return tuple(sources)


def parse_reviewed(value: Any, today: dt.date, problems: list[str]) -> dt.date:
    """The `reviewed` date: a real date, not in the future."""
    if value is None:
        problems.append("field 'reviewed': missing")
        return today
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value)
        except ValueError:
            pass
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        problems.append(f"field 'reviewed': '{value}' is not a date like 2026-11-24")
        return today
    if value > today:
        problems.append(f"field 'reviewed': {value} is in the future")
    return value
