"""The conversation database stopped and started for real: the assistant refuses to start without
it, keeps answering (red flags first of all) while it is gone, and stores turns again once it is back."""

from __future__ import annotations

import os
import subprocess

from pain_assistant import knowledge, red_flags
from stores import database
from tests import servers
from tests_scale.conftest import RASA_PORTS
from tests_scale.services import PostgreSQL

# Free ports for scripts/serve.sh, apart from the stack's and every other test's.
SERVE_PORTS = {"RASA_PORT": "5023", "ACTIONS_PORT": "5073", "WEBCHAT_PORT": "8093"}
STROKE = "my face is drooping on one side and I can't lift my arm"
STROKE_WARNING = red_flags.load(region="us").get("stroke").reply
# What Rasa's fail-safe tracker store logs when the database cannot be read.
RETRIEVE_ERROR = "Error happened when trying to retrieve conversation tracker"


def test_the_assistant_does_not_start_without_its_database_and_says_which(postgres: PostgreSQL):
    with postgres.stopped():
        result = subprocess.run(
            ["bash", "scripts/serve.sh"], cwd=servers.ROOT, capture_output=True, text=True, timeout=120,
            env={**os.environ, **SERVE_PORTS, "DB_URL": postgres.url_text(), "VENV": str(servers.VENV_BIN.parent)},
        )
    assert result.returncode != 0
    assert f"Cannot reach the conversation database {database.describe(postgres.url)}" in result.stderr
    assert postgres.PASSWORD not in result.stdout + result.stderr
    assert not any(servers.port_open(int(port)) for port in SERVE_PORTS.values()), "nothing was started"


def test_with_the_database_gone_a_red_flag_is_answered_and_turns_are_stored_once_it_is_back(rasa_servers, postgres):
    sender = "outage"
    first, second = RASA_PORTS
    # Both servers hold pooled connections to the database when it goes.
    servers.ask(sender, "why do my legs hurt", first)
    servers.ask(sender, "what is the ms hug", second)
    assert postgres.user_texts(sender) == ["why do my legs hurt", "what is the ms hug"]
    log = servers.log_path("rasa", first)
    logged_before = log.stat().st_size

    with postgres.stopped():
        reply = servers.joined(servers.ask(sender, STROKE, first))
        assert STROKE_WARNING in reply and "911" in reply
        spasticity = knowledge.load()["spasticity"].answer
        assert spasticity in servers.joined(servers.ask("outage-other", "what is spasticity", first))
        with log.open() as text:
            text.seek(logged_before)
            logged = text.read()
        assert RETRIEVE_ERROR in logged and str(postgres.url.port) in logged, logged[-2000:]
        assert all(process.poll() is None for process in rasa_servers.values()), "a Rasa server stopped"

    # The second server's pooled connections died with the database: its next turn must still
    # read the stored conversation (the last topic) and be kept.
    more_on_the_last_topic = knowledge.load()["ms_hug"].more.split("\n\n")[0]
    assert more_on_the_last_topic in servers.joined(servers.ask(sender, "tell me more", second))
    servers.ask(sender, "what is baclofen for", first)
    assert postgres.user_texts(sender) == ["why do my legs hurt", "what is the ms hug", "tell me more",
                                           "what is baclofen for"], "the turn sent while it was down is not kept"
