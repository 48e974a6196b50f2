"""Bad input on the REST channel of the running server: a clear answer, never a crash, and the
next message is answered normally. (The web chat's are in test_webchat.py.)"""

from __future__ import annotations

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


def test_an_over_long_message_with_a_red_flag_still_gets_its_warning(assistant):
    assert len(LONG_WITH_A_RED_FLAG) > MAX_CHARACTERS
    assert STROKE.reply.split("\n\n")[0] in servers.joined(servers.ask("long-flag", LONG_WITH_A_RED_FLAG))
