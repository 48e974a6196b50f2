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
