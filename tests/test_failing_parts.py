"""A failing action server under `make run` (scripts/serve.sh): killed, it comes back by itself
and red flags are warned meanwhile; stopped (SIGSTOP, as a hung server), a red flag in the same
conversation is warned at once, and the question waiting on it is told to try again."""

from __future__ import annotations

import itertools
import os
import signal
import time
import urllib.error
from concurrent.futures import ThreadPoolExecutor

import pytest

from pain_assistant import knowledge, red_flags
from tests import servers
from tests.servers import ask, joined

STROKE = red_flags.load(region="us").get("stroke").reply
CANNOT_ANSWER_NOW = "Sorry, I can't answer that right now"
sender_ids = (f"failing-{n}" for n in itertools.count())
COMES_BACK_WITHIN_S = 120


def action_server_pids() -> list[int]:
    """The action server's process, not the script that keeps it running."""
    return [pid for pid in servers.pids_running("run", "actions", "--actions", "actions", "--port", "5055")
            if "keep-running" not in open(f"/proc/{pid}/cmdline").read()]


def action_server_pid() -> int:
    (pid,) = action_server_pids()
    return pid


def wait_for_the_action_server(not_pid: int) -> int:
    deadline = time.monotonic() + COMES_BACK_WITHIN_S
    while time.monotonic() < deadline:
        try:
            servers.answers_health(5055)
            pid = action_server_pid()
            if pid != not_pid:
                return pid
        except (OSError, ValueError):
            pass
        time.sleep(0.5)
    pytest.fail(f"the action server did not come back within {COMES_BACK_WITHIN_S} s")


def test_a_killed_action_server_comes_back_and_red_flags_are_warned_meanwhile(assistant):
    rasa_pid = servers.pids_running("rasa_fixes", "run")
    killed = action_server_pid()
    os.kill(killed, signal.SIGKILL)
    sender = next(sender_ids)
    assert STROKE in joined(ask(sender, "her face is drooping and she cant lift her arm"))
    while servers.port_open(5055):  # the kill takes a moment to close its port
        time.sleep(0.05)
    assert CANNOT_ANSWER_NOW in joined(ask(sender, "why do my legs hurt"))

    wait_for_the_action_server(not_pid=killed)
    assert knowledge.load()["leg_pain"].see_clinician in joined(ask(sender, "why do my legs hurt"))
    assert servers.pids_running("rasa_fixes", "run") == rasa_pid, "the Rasa server was restarted"


def test_a_hung_action_server_holds_up_no_red_flag_in_the_same_conversation(assistant):
    hung = action_server_pid()
    sender = next(sender_ids)
    ask(sender, "hello")
    os.kill(hung, signal.SIGSTOP)
    try:
        with ThreadPoolExecutor(1) as pool:
            question = pool.submit(ask, sender, "why do my legs hurt")
            time.sleep(1)  # the question's turn is now waiting on the stopped action server
            assert not question.done()
            warning = joined(ask(sender, "her face is drooping and she cant lift her arm"))
            question_was_still_waiting = not question.done()
            answer = joined(question.result(timeout=60))
    finally:
        os.kill(hung, signal.SIGCONT)
    assert STROKE in warning
    assert question_was_still_waiting, "the warning waited for the hung turn"
    assert CANNOT_ANSWER_NOW in answer
    assert STROKE not in answer
    # The warning was given once, and the conversation goes on once the action server answers.
    assert knowledge.load()["leg_pain"].see_clinician in joined(ask(sender, "why do my legs hurt"))


def test_nothing_is_left_hanging_on_the_action_server(assistant):
    """After the tests above, the action server is the one serve.sh keeps: one process, answering."""
    try:
        servers.answers_health(5055)
    except (OSError, urllib.error.URLError) as error:
        pytest.fail(f"the action server does not answer: {error}")
    assert len(action_server_pids()) == 1
