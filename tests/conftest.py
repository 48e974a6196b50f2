"""Shared fixtures: the real knowledge file and the project's Rasa files."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pain_assistant import knowledge

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def knowledge_base() -> knowledge.KnowledgeBase:
    return knowledge.load(knowledge.DEFAULT_KNOWLEDGE_FILE)


@pytest.fixture(scope="session")
def domain() -> dict:
    return yaml.safe_load((ROOT / "domain.yml").read_text())


def pytest_terminal_summary(terminalreporter) -> None:
    """Print the red-flag detector's recall and false-alarm rate on the safety sets."""
    from tests.test_red_flags import safety_summary

    terminalreporter.section("red-flag safety sets")
    for line in safety_summary():
        terminalreporter.write_line(line)
