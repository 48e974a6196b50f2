"""The real thing: `scripts/serve.sh` (what `make run` starts) with the trained model, over HTTP.

Needs a trained model (`make test` trains first) and free ports 5005 and 5055.
"""

from __future__ import annotations

import os
import socket
import subprocess
import urllib.error
import urllib.request

import yaml

from pain_assistant import knowledge
from tests.servers import VENV_BIN, ROOT, ask, joined, port_open, texts


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


def test_without_a_token_the_http_api_is_off_and_the_action_server_is_on_loopback_only(assistant):
    for path in ("/conversations/anyone/tracker", "/status", "/model/parse"):
        try:
            urllib.request.urlopen(f"http://localhost:5005{path}", timeout=30)
            raise AssertionError(f"{path} answered")
        except urllib.error.HTTPError as error:
            assert error.code in (404, 405), path
    assert listening_addresses(5055) == {"127.0.0.1"}, "the action server must listen on loopback only"
    assert listening_addresses(8080) == {"127.0.0.1"}, "the demo page's server too"


def listening_addresses(port: int) -> set[str]:
    """The IPv4 addresses a port is listened on, from the kernel's socket table (/proc/net/tcp)."""
    addresses = set()
    for line in open("/proc/net/tcp").read().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, local_port = local.split(":")
        if state == "0A" and int(local_port, 16) == port:  # 0A: LISTEN
            addresses.add(socket.inet_ntoa(bytes.fromhex(address)[::-1]))
    return addresses
