"""The real thing: `scripts/serve.sh` (what `make run` starts) with the trained model, over HTTP.

Needs a trained model (`make test` trains first) and free ports 5005 and 5055.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest
import yaml

from pain_assistant import knowledge

ROOT = Path(__file__).resolve().parent.parent
REST = "http://localhost:5005/webhooks/rest/webhook"
START_TIMEOUT = 240
VENV_BIN = Path(sys.executable).parent


def ask(sender: str, message: str) -> list[dict]:
    request = urllib.request.Request(
        REST, data=json.dumps({"sender": sender, "message": message}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def port_open(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def process_group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def children_of(pid: int) -> list[int]:
    """The process ids whose parent is `pid`, from /proc."""
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line)
        except OSError:
            continue
        if fields.get("PPid", "").strip() == str(pid):
            found.append(int(status.parent.name))
    return found


@pytest.fixture(scope="module")
def assistant() -> Iterator[subprocess.Popen]:
    """Start both servers the way `make run` does; on teardown, SIGTERM it and check nothing is left."""
    if not (ROOT / "models" / "ms-pain.tar.gz").exists():
        pytest.fail("no trained model: run `make train` (make test does it for you)")
    for port in (5005, 5055):
        if port_open(port):
            pytest.fail(f"port {port} is busy: stop the running assistant before the tests")
    env = {**os.environ, "VENV": str(VENV_BIN.parent)}
    serve = subprocess.Popen(
        ["bash", "scripts/serve.sh"], cwd=ROOT, env=env, start_new_session=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if serve.poll() is not None:
            pytest.fail(f"the servers stopped while starting:\n{serve.stdout.read()[-3000:]}")
        try:
            ask("warm-up", "hello")
            break
        except OSError:
            if time.monotonic() > deadline:
                os.killpg(serve.pid, signal.SIGKILL)
                pytest.fail("the servers did not answer within the start timeout")
            time.sleep(1)
    server_groups = children_of(serve.pid)
    yield serve

    serve.send_signal(signal.SIGTERM)
    assert serve.wait(timeout=60) != 0
    assert not port_open(5005) and not port_open(5055)
    leftovers = [pgid for pgid in server_groups if process_group_alive(pgid)]
    assert not leftovers, f"processes left behind: {leftovers}"


def texts(reply: list[dict]) -> list[str]:
    return [message.get("text", "") for message in reply]


def joined(reply: list[dict]) -> str:
    """Rasa's REST channel sends each paragraph as a message of its own; put them back together."""
    return "\n\n".join(texts(reply))


def test_why_do_my_legs_hurt_gets_the_leg_pain_answer_and_a_clinician_steer(assistant):
    reply = ask("legs", "why do my legs hurt")
    assert knowledge.load()["leg_pain"].answer in joined(reply)
    assert knowledge.CLINICIAN_PATTERN.search(reply[-1]["text"])


def test_the_first_reply_carries_the_disclaimer_and_later_answers_no_emergency_number(assistant):
    first = texts(ask("disclaimer", "hi there"))
    assert "not a doctor" in first[0] and "911" in first[0]
    later = texts(ask("disclaimer", "what is the ms hug"))
    assert not any("911" in text for text in later)


def test_follow_ups_keep_the_topic(assistant):
    ask("follow-up", "what is gabapentin for")
    drowsy = joined(ask("follow-up", "and is that one drowsy?"))
    assert knowledge.load()["gabapentin"].side_effects in drowsy
    ask("follow-up", "why do my legs hurt so much")
    arms = texts(ask("follow-up", "what about my arms?"))
    assert any("arms too" in text for text in arms)


def test_topic_buttons_work_over_http(assistant):
    reply = ask("buttons", '/ask_topic{"topic": "ms_hug"}')
    assert knowledge.load()["ms_hug"].answer in joined(reply)
    assert reply[-1]["buttons"], "related topics come as buttons"


def test_gibberish_gets_an_honest_not_sure_with_topic_buttons(assistant):
    reply = ask("unsure", "qwzx blorp fnarg")
    assert "not sure I understood" in reply[-1]["text"]
    assert len(reply[-1]["buttons"]) >= 3


def test_out_of_scope_says_what_the_assistant_covers(assistant):
    reply = texts(ask("scope", "can you book me an appointment with my neurologist"))
    assert any("I explain pain in MS" in text for text in reply)


def test_action_server_refuses_to_start_on_a_broken_knowledge_file(tmp_path):
    document = yaml.safe_load(knowledge.DEFAULT_KNOWLEDGE_FILE.read_text())
    document["entries"][0]["related"] = ["no_such_entry"]
    broken = tmp_path / "ms_pain.yml"
    broken.write_text(yaml.safe_dump(document))
    result = subprocess.run(
        [str(VENV_BIN / "rasa"), "run", "actions", "--actions", "actions", "--port", "5099"],
        cwd=ROOT, env={**os.environ, knowledge.KNOWLEDGE_FILE_ENV: str(broken)},
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode != 0
    assert "field 'related': unknown entry id 'no_such_entry'" in result.stderr
    assert not port_open(5099)
