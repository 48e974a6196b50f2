"""Conversations outlive the server, keep no personal data, and the HTTP API needs its token.

A stack of its own (scripts/serve.sh on ports 5008, 5058 and 8088, as `make run` starts it) with
a SQLite file of this test's own; stopped with SIGTERM and started again on the same file."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import urllib.error
import urllib.request
from pathlib import Path
from unittest import mock

import pytest
import yaml

from pain_assistant import knowledge
from stores import retention
from stores.tracker_store import stored_sender_id
from tests import servers

PORTS = {"RASA_PORT": "5008", "ACTIONS_PORT": "5058", "WEBCHAT_PORT": "8088"}
RASA_PORT = int(PORTS["RASA_PORT"])
TOKEN = "a-token-for-the-test"
# Some integrations use a person's email address or phone number as the sender id.
EMAIL_SENDER = "jo.bloggs@example.org"
DOMAIN = yaml.safe_load((servers.ROOT / "domain.yml").read_text())


def question(slot: str) -> str:
    return DOMAIN["responses"][f"utter_ask_{slot}"][0]["text"]


class Stack:
    def __init__(self, database: Path) -> None:
        self.environment = {**PORTS, "DB_URL": f"sqlite:///{database}", "RASA_API_TOKEN": TOKEN}
        self.process = None

    def start(self) -> None:
        with mock.patch.dict(os.environ, self.environment):
            self.process = servers.start(["bash", "scripts/serve.sh"], RASA_PORT)

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=60)
        assert not any(servers.port_open(int(port)) for port in PORTS.values())

    def ask(self, sender: str, message: str) -> str:
        return servers.joined(servers.ask(sender, message, port=RASA_PORT))


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    stack = Stack(tmp_path_factory.mktemp("persist") / "conversations.db")
    try:
        stack.start()
    except RuntimeError as error:
        pytest.fail(f"the assistant did not start: {error}")
    yield stack
    if stack.process.poll() is None:
        stack.stop()


def get(path: str) -> int:
    try:
        with urllib.request.urlopen(f"http://localhost:{RASA_PORT}{path}", timeout=30) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code


def test_the_http_api_answers_only_with_its_token(stack):
    stack.ask("api-check", "hello")
    assert get("/conversations/api-check/tracker") == 401
    assert get("/conversations/api-check/tracker?token=wrong") == 401
    assert get(f"/conversations/api-check/tracker?token={TOKEN}") == 200


def test_a_conversation_continues_after_a_restart_and_its_rows_hold_no_contact_details(stack):
    sender = "persist-1"
    assert knowledge.load()["leg_pain"].see_clinician in stack.ask(sender, "why do my legs hurt")
    assert question("check_sudden") in stack.ask(sender, "check my leg pain")
    assert question("check_one_leg_swollen") in stack.ask(sender, "no")
    assert knowledge.load()["ms_hug"].see_clinician in stack.ask("persist-2", "what is the ms hug")
    stack.ask("contact-details", "email me at jo.bloggs@example.org or call 07700 900123 about my leg pain")
    assert question("check_sudden") in stack.ask(EMAIL_SENDER, "check my leg pain")

    stack.stop()
    stack.start()

    assert question("check_fever") in stack.ask(sender, "no"), "the form goes on where it was"
    assert "what is known about leg pain" in stack.ask(sender, "just tell me about the pain")
    more = knowledge.load()["ms_hug"].more.split("\n\n")[0]
    assert more in stack.ask("persist-2", "tell me more"), "the last topic is remembered"
    assert question("check_one_leg_swollen") in stack.ask(EMAIL_SENDER, "no"), "found again by its hash"

    with sqlite3.connect(database_file(stack)) as connection:
        stored = [json.loads(data) for (data,) in connection.execute("SELECT data FROM events")]
    assert {"persist-1", "persist-2", "contact-details", stored_sender_id(EMAIL_SENDER)} <= stored_senders(stack)
    assert EMAIL_SENDER not in stored_senders(stack)
    text = json.dumps(stored)
    assert "jo.bloggs@example.org" not in text and "07700 900123" not in text and "900123" not in text
    assert "[email]" in text and "[phone]" in text


def database_file(stack: Stack) -> Path:
    return Path(stack.environment["DB_URL"].removeprefix("sqlite:///"))


def stored_senders(stack: Stack) -> set[str]:
    with sqlite3.connect(database_file(stack)) as connection:
        return {sender for (sender,) in connection.execute("SELECT DISTINCT sender_id FROM events")}


def test_forget_me_deletes_the_conversation_and_says_so(stack):
    stack.ask("forget-1", "why do my legs hurt")
    stack.ask("forget-2", "what is the ms hug")
    assert {"forget-1", "forget-2"} <= stored_senders(stack)
    assert "deleted this conversation" in stack.ask("forget-1", "please delete my data")
    assert "forget-1" not in stored_senders(stack) and "forget-2" in stored_senders(stack)


def test_forget_me_leaves_nothing_readable_in_the_database_file(stack):
    sender = "+44 7700 900999"
    stack.ask(sender, "my name is Sarah O'Connor and my knees burn like the summer in Tuscany")
    assert stored_sender_id(sender) in stored_senders(stack)
    assert "deleted this conversation" in stack.ask(sender, "please delete my data")
    database = database_file(stack)
    left = b"".join(path.read_bytes() for path in (database, Path(f"{database}-wal")) if path.exists())
    for trace in ("the summer in Tuscany", stored_sender_id(sender), "Sarah", "O'Connor", sender):
        assert trace.encode() not in left, trace


def test_what_is_kept_is_explained(stack):
    reply = stack.ask("privacy-1", "what do you keep?")
    assert f"{retention.DEFAULT_DAYS} days" in reply and '"forget me"' in reply
