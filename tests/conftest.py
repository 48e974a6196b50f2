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
def parse():
    """The trained model's NLU, in this process: text -> Rasa's parse result."""
    import asyncio

    from rasa.core.agent import Agent

    model = ROOT / "models" / "ms-pain.tar.gz"
    if not model.exists():
        pytest.fail("no trained model: run `make train` (make test does it for you)")
    agent = Agent.load(str(model))
    loop = asyncio.new_event_loop()
    yield lambda text: loop.run_until_complete(agent.parse_message(text))
    loop.close()


@pytest.fixture(scope="session")
def domain() -> dict:
    return yaml.safe_load((ROOT / "domain.yml").read_text())


def pytest_terminal_summary(terminalreporter) -> None:
    """Print the red-flag detector's recall and false-alarm rate on the safety sets."""
    from tests.test_red_flags import safety_summary

    terminalreporter.section("red-flag safety sets")
    for line in safety_summary():
        terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def assistant(request, tmp_path_factory):
    """The servers started the way `make run` does; on teardown, SIGTERM and check nothing is left.

    The Messenger channel is on, sending to a local stand-in for the Graph API (left in the
    session's stash under `graph_stand_in.STASH_KEY` for the Messenger tests). Conversations go
    to a SQLite file of the test session's own."""
    import os
    import signal
    from unittest import mock

    from tests import graph_stand_in, servers

    database = tmp_path_factory.mktemp("assistant") / "conversations.db"
    with graph_stand_in.GraphStandIn() as graph, mock.patch.dict(
        os.environ, {**graph.environment(), "DB_URL": f"sqlite:///{database}"}
    ):
        request.config.stash[graph_stand_in.STASH_KEY] = graph
        try:
            serve = servers.start(["bash", "scripts/serve.sh"], 5005)
        except RuntimeError as error:
            pytest.fail(f"the assistant did not start: {error}")
        server_groups = servers.children_of(serve.pid)
        yield serve

        serve.send_signal(signal.SIGTERM)
        assert serve.wait(timeout=60) != 0
        assert not any(servers.port_open(port) for port in (5005, 5055, 8080))
        leftovers = [pgid for pgid in server_groups if servers.process_group_alive(pgid)]
        assert not leftovers, f"processes left behind: {leftovers}"
