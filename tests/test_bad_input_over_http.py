"""Bad input on the REST channel of the running server: a clear answer, never a crash, and the
next message is answered normally. (The web chat's are in test_webchat.py.)"""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request

import pytest

from channels.json_body import NOT_JSON
from pain_assistant import red_flags
from pain_assistant.incoming import EMPTY_PROMPT, MAX_CHARACTERS, TOO_LONG_REPLY
from tests import servers

REST_WEBHOOK = "http://localhost:5005/webhooks/rest/webhook"
STROKE = next(flag for flag in red_flags.load(region="us").flags if flag.id == "stroke")
LONG_WITH_A_RED_FLAG = "my legs ache all day. " * 300 + "now my face is drooping and my arm is weak"


def post(body: bytes, content_type: str = "application/json") -> tuple[int, object]:
    request = urllib.request.Request(REST_WEBHOOK, data=body, headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.mark.parametrize(
    "body, content_type, complaint",
    [
        (b'{"sender": "a", "message": "hi"', "application/json", "not valid JSON"),
        (b'["why do my legs hurt"]', "application/json", "JSON object"),
        (b'{"sender": "a"}', "application/json", '"message" must be text'),
        (b'{"sender": "a", "message": 42}', "application/json", '"message" must be text'),
        (b'{"sender": ["a"], "message": "hi"}', "application/json", '"sender" must be text'),
        (b'{"sender": "a", "message": "hi", "metadata": "x"}', "application/json", '"metadata"'),
        (b'\xff\xfe', "application/json", "not valid JSON"),
        (b'sender=a&message=hi', "application/x-www-form-urlencoded", NOT_JSON),
    ],
)
def test_a_body_it_cannot_read_gets_400_with_a_clear_message(assistant, knowledge_base, body, content_type, complaint):
    status, answer = post(body, content_type)
    assert status == 400
    assert complaint in answer["error"]
    next_answer = servers.joined(servers.ask("after-a-400", "why do my legs hurt"))
    assert knowledge_base["leg_pain"].see_clinician in next_answer


@pytest.mark.parametrize(
    "message, reply",
    [("", EMPTY_PROMPT), ("   \n ", EMPTY_PROMPT), ("my legs ache " * 500, TOO_LONG_REPLY)],
)
def test_empty_and_over_long_messages_get_a_prompt_or_a_limit(assistant, message, reply):
    assert servers.texts(servers.ask("limits", message)) == [reply]


def test_an_over_long_message_with_a_red_flag_still_gets_its_warning_or_a_check_naming_the_number(assistant):
    """The lexicon is sure, the classifier (reading mostly filler) is not: a warning, or the check
    question that names the number (safety rule 1)."""
    assert len(LONG_WITH_A_RED_FLAG) > MAX_CHARACTERS
    replies = servers.joined(servers.ask("long-flag", LONG_WITH_A_RED_FLAG))
    assert STROKE.reply.split("\n\n")[0] in replies or red_flags.load(region="us").checks["now"] in replies


CRISIS = next(flag for flag in red_flags.load(region="us").flags if flag.id == "suicidal_thoughts")
RED_FLAG = b'{"sender": "after-hostile", "message": "her face is drooping and she cant lift her arm"}'


def _nested(depth: int) -> bytes:
    return b'{"sender": "deep", "message": "hello", "metadata": ' + b'{"a": ' * depth + b"1" + b"}" * depth + b"}"


@pytest.mark.parametrize(
    "body, complaint",
    [
        pytest.param(b'{"sender": "a\\ud800", "message": "hello"}', '"sender" is not valid UTF-8', id="escaped surrogate"),
        pytest.param(b'{"sender": "a\xed\xa0\x80", "message": "hello"}', '"sender" is not valid UTF-8', id="raw surrogate"),
        pytest.param(b'{"sender": "a", "message": "hello \\udfff"}', '"message" is not valid UTF-8', id="in message"),
        pytest.param(b'{"sender": "a", "message": "hi", "metadata": {"name\\ud800": 1}}', 'A key in "metadata"',
                     id="in a metadata key"),
        pytest.param(b'{"sender": "' + b"s" * 300 + b'", "message": "hello"}', "at most 128 characters", id="long sender"),
        pytest.param(b'{"sender": "x", "message": "hello", "metadata": {"blob": "' + b"b" * 40_000 + b'"}}', "4096 bytes",
                     id="40 KB metadata"),
        pytest.param(_nested(500), "The body is nested more than 32 levels", id="500 deep"),
        pytest.param(_nested(20), '"metadata" is nested more than 8 levels', id="20 deep metadata"),
    ],
)
def test_hostile_bodies_get_a_clear_400_and_stop_nothing(assistant, body, complaint):
    rasa = servers.pids_running("rasa_fixes", "run")
    status, answer = post(body)
    assert status == 400
    assert complaint in answer["error"]
    assert_a_red_flag_is_still_warned_by(rasa)


def test_a_10_mb_body_gets_413_unread_and_stops_nothing(assistant):
    """Sent as a client would stream it: the server answers once it has read past its limit."""
    rasa = servers.pids_running("rasa_fixes", "run")
    connection = http.client.HTTPConnection("localhost", 5005, timeout=60)
    connection.putrequest("POST", "/webhooks/rest/webhook")
    connection.putheader("Content-Type", "application/json")
    connection.putheader("Content-Length", str(10_000_000))
    connection.endheaders()
    try:
        for _ in range(10):  # 1 MB of the 10: far past the limit
            connection.send(b"b" * 100_000)
    except OSError:
        pass  # the server may close the connection once it has answered
    answer = connection.getresponse()
    assert answer.status == 413
    assert "exceeds the size limit" in answer.read().decode()
    connection.close()
    assert_a_red_flag_is_still_warned_by(rasa)


def assert_a_red_flag_is_still_warned_by(rasa: list[int]) -> None:
    status, answer = post(RED_FLAG)
    assert status == 200 and STROKE.reply.split("\n\n")[0] in servers.joined(answer)
    assert servers.pids_running("rasa_fixes", "run") == rasa, "the Rasa server is not the same process"


@pytest.mark.parametrize(
    "message, expected",
    [
        ("I want to kill myself " + "b" * 40_000, CRISIS.reply),
        ("hello " + "b" * 200_000, TOO_LONG_REPLY),
        ("b" * 200_000 + " I want to kill myself", CRISIS.reply),
    ],
)
def test_long_messages_are_read_on_a_bounded_window(assistant, message, expected):
    status, answer = post(json.dumps({"sender": "long-window", "message": message}).encode())
    assert status == 200
    assert expected.split("\n\n")[0] in servers.joined(answer)
