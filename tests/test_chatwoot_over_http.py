"""The Chatwoot channel through real HTTP: a Rasa server of its own (port 5007, with its action
server on 5057) receives Chatwoot's webhooks, signed as Chatwoot 4.13 signs them, and answers through
a local stand-in for Chatwoot's API. Conversations are answered in the background, so tests wait on
what the stand-in received."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from types import SimpleNamespace
from typing import Any, Iterator, Mapping

import pytest

from channels import chatwoot_protocol as protocol
from pain_assistant import handoff, incoming, knowledge, red_flags
from tests import servers
from tests.chatwoot_stand_in import TOKEN, WEBHOOK_SECRET, Call, ChatwootStandIn, delivery_headers, webhook_body

RASA_PORT = 5007
ACTIONS_PORT = 5057
WEBHOOK = f"http://localhost:{RASA_PORT}/webhooks/chatwoot/webhook"
FLAGS = red_flags.load(region="us").flags  # the region the model is trained for by default
REPLIES = {flag.id: flag.reply for flag in FLAGS}
SEVERITIES = {flag.id: flag.severity for flag in FLAGS}
STOP_TIMEOUT = 30


@pytest.fixture(scope="module")
def chatwoot() -> Iterator[ChatwootStandIn]:
    stand_in = ChatwootStandIn().start()
    yield stand_in
    stand_in.stop()


@pytest.fixture(scope="module")
def rasa(chatwoot: ChatwootStandIn, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The action server and a Rasa server with the REST and Chatwoot channels; both stopped, with
    their process groups, at the end."""
    files = tmp_path_factory.mktemp("chatwoot")
    credentials = files / "credentials.yml"
    credentials.write_text("rest:\nchannels.chatwoot.ChatwootInput:\n")
    endpoints = files / "endpoints.yml"
    endpoints.write_text(f'action_endpoint:\n  url: "http://localhost:{ACTIONS_PORT}/webhook"\n')
    try:
        actions = _start_actions()
    except RuntimeError as error:
        pytest.fail(f"the action server did not start: {error}")
    try:
        with pytest.MonkeyPatch.context() as environment:
            environment.setenv(protocol.URL_VARIABLE, chatwoot.url)
            environment.setenv(protocol.TOKEN_VARIABLE, TOKEN)
            environment.setenv(protocol.WEBHOOK_SECRET_VARIABLE, WEBHOOK_SECRET)
            command = [str(servers.VENV_BIN / "rasa"), "run", "--model", str(servers.MODEL), "--port", str(RASA_PORT),
                       "--credentials", str(credentials), "--endpoints", str(endpoints)]
            try:
                server = servers.start(command, RASA_PORT)
            except RuntimeError as error:
                pytest.fail(f"the Rasa server did not start: {error}")
    except BaseException:
        servers.stop_group(actions)
        raise
    yield
    servers.stop_group(server)
    servers.stop_group(actions)
    deadline = time.monotonic() + STOP_TIMEOUT
    while any(servers.process_group_alive(process.pid) for process in (server, actions)):
        assert time.monotonic() < deadline, "processes left behind"
        time.sleep(0.2)
    assert not servers.port_open(RASA_PORT) and not servers.port_open(ACTIONS_PORT)


def _start_actions() -> subprocess.Popen:
    with pytest.MonkeyPatch.context() as environment:
        environment.setenv("SANIC_HOST", "127.0.0.1")
        return servers.start([str(servers.VENV_BIN / "rasa"), "run", "actions", "--actions", "actions",
                              "--port", str(ACTIONS_PORT)], ACTIONS_PORT, "actions", servers.answers_health)


def post(
    body: Any, content_type: str = "application/json", headers: Mapping[str, str] | None = None
) -> tuple[int, dict[str, Any]]:
    """A delivery as Chatwoot makes it, freshly signed, unless `headers` are given."""
    data = body if isinstance(body, bytes) else webhook_body(body)
    headers = {**(delivery_headers(data) if headers is None else headers), "Content-Type": content_type}
    request = urllib.request.Request(WEBHOOK, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def say(chatwoot: ChatwootStandIn, conversation_id: int, text: str | None, **changes: Any) -> dict[str, Any]:
    status, answer = post(chatwoot.message_created(conversation_id, text, **changes))
    assert status == 200, answer
    return answer


def public(calls: list[Call]) -> list[dict[str, Any]]:
    return [call.body for call in calls if call.is_public_message]


def handed_over(calls: list[Call]) -> bool:
    return any(call.is_private_note for call in calls)


def answers(count: int):
    """Waits for `count` public messages in the conversation."""
    return lambda calls: len(public(calls)) >= count


def answered_with_buttons(calls: list[Call]) -> bool:
    """Topic answers and the "not sure" reply end with their buttons: the whole reply is there."""
    return any(body.get("content_type") == "input_select" for body in public(calls))


def test_an_ordinary_question_gets_its_answer_ending_with_the_clinician_line(rasa, chatwoot):
    assert say(chatwoot, 101, "why do my legs hurt") == {"status": "accepted"}
    calls = chatwoot.wait_for(101, answered_with_buttons)
    messages = public(calls)
    assert knowledge.load()["leg_pain"].answer in "\n\n".join(body["content"] for body in messages)
    assert knowledge.CLINICIAN_PATTERN.search(messages[-1]["content"])
    assert not handed_over(calls) and all(call.kind == "messages" for call in calls)
    assert "911" not in messages[-1]["content"]


def test_buttons_arrive_as_one_input_select_message(rasa, chatwoot):
    say(chatwoot, 102, "what is spasticity")
    last = public(chatwoot.wait_for(102, answered_with_buttons))[-1]
    assert last["content_type"] == "input_select" and last["content"]
    items = last["content_attributes"]["items"]
    assert items and all(set(item) == {"title", "value"} and item["title"] for item in items)
    assert all(item["value"].startswith("/") for item in items)  # Rasa's payloads, e.g. /ask_topic{...}


def test_an_option_sent_back_as_its_value_gets_that_topic(rasa, chatwoot):
    """Channels that send a choice back as a message send its value: the button's payload."""
    say(chatwoot, 115, "what is spasticity")
    options = public(chatwoot.wait_for(115, answered_with_buttons))[-1]
    chosen = next(item for item in options["content_attributes"]["items"] if item["value"].startswith("/ask_topic"))
    before = len(chatwoot.calls(115))
    say(chatwoot, 115, chosen["value"])
    calls = chatwoot.wait_for(115, lambda calls: answered_with_buttons(calls[before:]))
    topic = json.loads(chosen["value"][len("/ask_topic"):])["topic"]
    assert knowledge.load()[topic].answer in "\n\n".join(body["content"] for body in public(calls[before:]))


def test_typed_text_cannot_pose_as_a_payload_to_skip_the_red_flag_check(rasa, chatwoot):
    say(chatwoot, 116, "/greet her face is drooping")
    calls = chatwoot.wait_for(116, handed_over)
    assert REPLIES["stroke"] in public(calls)[0]["content"]


def test_a_red_flag_gets_its_warning_then_goes_to_a_person_with_a_triage_note(rasa, chatwoot):
    say(chatwoot, 103, "her face is drooping")
    calls = chatwoot.wait_for(103, handed_over)
    kinds = [("note" if call.is_private_note else "public" if call.is_public_message else call.kind) for call in calls]
    assert kinds == ["public", "public", "toggle_status", "note"]
    warning, notice = public(calls)
    assert REPLIES["stroke"] in warning["content"] and "Call 911" in warning["content"]
    assert notice["content"] == handoff.HANDOFF_NOTICE[handoff.Reason.RED_FLAG]
    assert calls[2].body == {"status": "open"} and chatwoot.status(103) == "open"
    note = calls[3].body["content"]
    assert f"stroke ({SEVERITIES['stroke']})" in note and "> her face is drooping" in note


def test_the_bot_stays_quiet_after_a_handover_until_it_is_handed_back(rasa, chatwoot):
    if not handed_over(chatwoot.calls(103)):
        say(chatwoot, 103, "her face is drooping")
        chatwoot.wait_for(103, handed_over)
    before = len(chatwoot.calls(103))
    # A webhook sent before Chatwoot saw the new status: the channel remembers the handover.
    assert say(chatwoot, 103, "hello?", status="pending") == {"status": "ignored", "reason": "handed to a person"}
    ignored = say(chatwoot, 103, "are you there")  # the conversation's own status: open
    assert ignored["status"] == "ignored" and "'open'" in ignored["reason"]
    assert len(chatwoot.calls(103)) == before
    # An agent hands it back to the bot.
    chatwoot.set_status(103, "pending")
    assert say(chatwoot, 103, "what is spasticity") == {"status": "accepted"}
    calls = chatwoot.wait_for(103, lambda calls: answered_with_buttons(calls[before:]))
    assert not handed_over(calls[before:])


def test_asking_for_a_person_hands_over_without_the_assistant_answer(rasa, chatwoot):
    say(chatwoot, 104, "talk to a human")
    calls = chatwoot.wait_for(104, handed_over)
    assert public(calls) == [protocol.text_message(handoff.HANDOFF_NOTICE[handoff.Reason.HUMAN_REQUEST])]
    assert [call.kind for call in calls] == ["messages", "toggle_status", "messages"]
    assert "they asked to talk to a person" in calls[-1].body["content"]
    assert "> talk to a human" in calls[-1].body["content"]


def test_two_not_understood_messages_in_a_row_hand_over(rasa, chatwoot):
    say(chatwoot, 105, "asdf qwerty")
    first = chatwoot.wait_for(105, answered_with_buttons)
    assert "not sure I understood" in public(first)[0]["content"] and not handed_over(first)
    say(chatwoot, 105, "blorp zzz")
    calls = chatwoot.wait_for(105, handed_over)
    assert public(calls)[-1]["content"] == handoff.HANDOFF_NOTICE[handoff.Reason.NOT_UNDERSTOOD]
    assert calls[-2].body == {"status": "open"}
    assert "did not understand them 2 times in a row" in calls[-1].body["content"]


def test_messages_the_bot_must_not_answer_are_ignored(rasa, chatwoot):
    ignored = [
        {"message_type": "outgoing", "sender_type": "agent_bot"},
        {"message_type": "outgoing", "sender_type": "user"},
        {"message_type": "outgoing", "sender_type": "user", "private": True},
        {"sender_type": "user"},
        {"private": True},
        {"status": "open"},
        {"status": "resolved"},
    ]
    for changes in ignored:
        answer = say(chatwoot, 106, "why do my legs hurt", **changes)
        assert answer["status"] == "ignored" and answer["reason"], changes
    other_event = {**chatwoot.message_created(106, "why do my legs hurt"), "event": "message_updated"}
    assert post(other_event)[1]["status"] == "ignored"
    # The next message is answered, and it is the only one that was.
    say(chatwoot, 106, "what is spasticity")
    calls = chatwoot.wait_for(106, answered_with_buttons)
    assert knowledge.load()["spasticity"].answer in "\n\n".join(body["content"] for body in public(calls))
    assert knowledge.load()["leg_pain"].answer not in json.dumps([call.body for call in calls])


@pytest.mark.parametrize(
    "body, content_type, message",
    [
        (b'{"event": "message_created", ', "application/json", "not valid JSON"),
        (b"\xff\xfe\x00", "application/json", "not valid JSON"),
        (b"[1, 2, 3]", "application/json", "JSON object"),
        (b'{"event": "message_created"}', "text/plain", "Content-Type: application/json"),
        (b"event=message_created", "application/x-www-form-urlencoded", "Content-Type: application/json"),
    ],
)
def test_bad_input_gets_400_with_a_clear_message(rasa, chatwoot, body, content_type, message):
    status, answer = post(body, content_type)
    assert status == 400 and message in answer["error"]


def test_after_bad_input_the_next_message_is_answered(rasa, chatwoot):
    post(b"{oops", "application/json")
    say(chatwoot, 107, "what is spasticity")
    chatwoot.wait_for(107, answered_with_buttons)


def test_a_message_over_the_limit_gets_a_polite_reply(rasa, chatwoot):
    say(chatwoot, 108, "my legs hurt a lot " * 300)
    calls = chatwoot.wait_for(108, answers(1))
    assert public(calls) == [protocol.text_message(incoming.TOO_LONG_REPLY)]


def test_a_red_flag_in_a_message_over_the_limit_still_gets_its_warning_or_a_check_naming_the_number(rasa, chatwoot):
    say(chatwoot, 109, "my legs hurt a lot " * 300 + "and now her face is drooping")
    calls = chatwoot.wait_for(109, answers(1))
    assert public(calls)[0]["content"] in (REPLIES["stroke"], red_flags.load(region="us").checks["now"])


@pytest.mark.parametrize("content", [None, "", "   "])
def test_a_message_without_words_gets_a_gentle_prompt(rasa, chatwoot, content):
    conversation_id = 110 + [None, "", "   "].index(content)
    say(chatwoot, conversation_id, content)
    calls = chatwoot.wait_for(conversation_id, answers(1))
    assert public(calls) == [protocol.text_message(incoming.EMPTY_PROMPT)]


def test_chatwoot_refusing_calls_breaks_nothing(rasa, chatwoot):
    chatwoot.failing.add(120)
    say(chatwoot, 120, "her face is drooping")
    calls = chatwoot.wait_for(120, handed_over)  # every step tried, each refused with a 500
    assert [call.kind for call in calls] == ["messages", "messages", "toggle_status", "messages"]
    say(chatwoot, 121, "what is spasticity")
    chatwoot.wait_for(121, answered_with_buttons)


# Deliveries that do not come from our Chatwoot, and deliveries Chatwoot makes again

ATTACK = "her face is drooping, see https://evil.example/forms and call +1 555 0100"


def nothing_happened(chatwoot: ChatwootStandIn, conversation_id: int) -> bool:
    """No message, note or status change for the conversation, a while after the deliveries."""
    time.sleep(3)
    return chatwoot.calls(conversation_id) == [] and chatwoot.status(conversation_id) == "pending"


def test_forged_unsigned_and_altered_deliveries_get_401_and_change_nothing(rasa, chatwoot):
    body = webhook_body(chatwoot.message_created(130, ATTACK))
    signed = delivery_headers(body)
    unsigned = {name: value for name, value in signed.items() if not name.startswith("X-Chatwoot-")}
    refusals = [
        (delivery_headers(body, secret="a guessed secret"), protocol.FORGED),
        (delivery_headers(body, secret=TOKEN), protocol.FORGED),  # the bot's API token is not its secret
        (unsigned, protocol.UNSIGNED),
        ({**signed, "X-Chatwoot-Signature": ""}, protocol.UNSIGNED),
        ({**signed, "X-Chatwoot-Signature": signed["X-Chatwoot-Signature"].upper()}, protocol.FORGED),
        ({**signed, "X-Chatwoot-Timestamp": str(int(time.time()) + 1)}, protocol.FORGED),
        ({**signed, "X-Chatwoot-Timestamp": "yesterday"}, protocol.BAD_TIMESTAMP),
    ]
    for headers, error in refusals:
        assert post(body, headers=headers) == (401, {"error": error}), headers
    altered = body.replace(b"130", b"131")  # the signature of one conversation on another's event
    assert post(altered, headers=signed) == (401, {"error": protocol.FORGED})
    assert nothing_happened(chatwoot, 130) and nothing_happened(chatwoot, 131)


def test_a_stale_delivery_gets_401_and_changes_nothing(rasa, chatwoot):
    body = webhook_body(chatwoot.message_created(132, ATTACK))
    for sent_at in (time.time() - 600, time.time() - 24 * 3600, time.time() + 600):
        assert post(body, headers=delivery_headers(body, timestamp=int(sent_at))) == (401, {"error": protocol.STALE})
    assert nothing_happened(chatwoot, 132)


def test_a_url_token_opens_nothing_when_deliveries_are_signed(rasa, chatwoot):
    body = webhook_body(chatwoot.message_created(133, ATTACK))
    request = urllib.request.Request(f"{WEBHOOK}?token={WEBHOOK_SECRET}", data=body,
                                     headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=60)
    assert refused.value.code == 401 and json.loads(refused.value.read()) == {"error": protocol.UNSIGNED}
    assert nothing_happened(chatwoot, 133)


def test_a_replayed_or_retried_red_flag_is_answered_once(rasa, chatwoot):
    event = chatwoot.message_created(134, "her face is drooping")
    body = webhook_body(event)
    first = delivery_headers(body)
    assert post(body, headers=first) == (200, {"status": "accepted"})
    duplicate = (200, {"status": "duplicate"})
    assert post(body, headers=first) == duplicate  # the same request again, within the window
    retry = delivery_headers(body, delivery_id=first["X-Chatwoot-Delivery"])  # Chatwoot's retry: new time
    assert post(body, headers=retry) == duplicate
    assert post(body) == duplicate  # the same message in a new delivery
    calls = chatwoot.wait_for(134, handed_over)
    time.sleep(3)
    assert chatwoot.calls(134) == calls
    assert [call.kind for call in calls] == ["messages", "messages", "toggle_status", "messages"]
    assert REPLIES["stroke"] in public(calls)[0]["content"]


def test_a_signed_red_flag_in_another_script_gets_its_warning(rasa, chatwoot):
    """The signature covers the body's bytes as sent: UTF-8, not escaped."""
    body = webhook_body(chatwoot.message_created(135, "her face is drooping — Ärztin? 顔が"))
    assert "—".encode() in body
    assert post(body, headers=delivery_headers(body)) == (200, {"status": "accepted"})
    calls = chatwoot.wait_for(135, handed_over)
    assert REPLIES["stroke"] in public(calls)[0]["content"] and "Call 911" in public(calls)[0]["content"]


def test_the_channel_is_off_without_its_settings(monkeypatch):
    """In-process: the same server cannot have the channel both on and off."""
    from channels.chatwoot import ChatwootInput

    for name in (protocol.URL_VARIABLE, protocol.TOKEN_VARIABLE, protocol.WEBHOOK_SECRET_VARIABLE,
                 protocol.WEBHOOK_TOKEN_VARIABLE):
        monkeypatch.delenv(name, raising=False)
    channel = ChatwootInput.from_credentials(None)
    request = SimpleNamespace(headers={"content-type": "application/json"}, body=b"{}")
    answer = asyncio.run(channel.receive(request, guard=None))
    assert answer.status == 503
    assert json.loads(answer.body) == {"error": protocol.CHANNEL_OFF}


def test_the_channel_is_off_with_only_the_url_and_bot_token(monkeypatch):
    """Secure by default: without a way to verify deliveries the webhook answers nothing."""
    from channels.chatwoot import ChatwootInput

    monkeypatch.setenv(protocol.URL_VARIABLE, "https://chat.example.org")
    monkeypatch.setenv(protocol.TOKEN_VARIABLE, TOKEN)
    monkeypatch.delenv(protocol.WEBHOOK_SECRET_VARIABLE, raising=False)
    monkeypatch.delenv(protocol.WEBHOOK_TOKEN_VARIABLE, raising=False)
    channel = ChatwootInput.from_credentials(None)
    request = SimpleNamespace(headers={"content-type": "application/json"}, body=b"{}", args={"token": ""})
    answer = asyncio.run(channel.receive(request, guard=None))
    assert answer.status == 503
    assert json.loads(answer.body) == {"error": protocol.CHANNEL_OFF}


@pytest.mark.parametrize("given, status", [("url-token-123", 200), ("url-token-12", 401), (None, 401)])
def test_with_older_chatwoot_the_url_token_decides(monkeypatch, given, status):
    """In-process, as the server above verifies signatures. An event the bot ignores is enough: the
    token is checked before the body is read."""
    from channels.chatwoot import ChatwootInput
    from tests.chatwoot_stand_in import message_created

    monkeypatch.setenv(protocol.URL_VARIABLE, "https://chat.example.org")
    monkeypatch.setenv(protocol.TOKEN_VARIABLE, TOKEN)
    monkeypatch.delenv(protocol.WEBHOOK_SECRET_VARIABLE, raising=False)
    monkeypatch.setenv(protocol.WEBHOOK_TOKEN_VARIABLE, "url-token-123")
    channel = ChatwootInput.from_credentials(None)
    body = webhook_body(message_created(140, "hello", status="open"))
    args = {} if given is None else {"token": given}
    request = SimpleNamespace(headers={"content-type": "application/json"}, body=body, args=args)
    answer = asyncio.run(channel.receive(request, guard=None))
    assert answer.status == status
    assert json.loads(answer.body)["status" if status == 200 else "error"] == (
        "ignored" if status == 200 else protocol.WRONG_URL_TOKEN
    )


def test_a_red_flag_never_waits_behind_a_turn_held_up_by_a_hung_action_server(rasa, chatwoot):
    """The channel answers one message of a conversation at a time; a red flag is warned at once
    all the same, and not again when its own turn comes."""
    say(chatwoot, 150, "hello")
    chatwoot.wait_for(150, answers(1))
    (action_server,) = servers.pids_running("run", "actions", "--actions", "actions", "--port", str(ACTIONS_PORT))
    os.kill(action_server, signal.SIGSTOP)
    try:
        say(chatwoot, 150, "why do my legs hurt")  # its turn waits on the stopped action server
        time.sleep(1)
        before = len(public(chatwoot.calls(150)))
        say(chatwoot, 150, "her face is drooping and she cant lift her arm")
        warned = chatwoot.wait_for(150, lambda calls: any(REPLIES["stroke"] in body["content"] for body in public(calls)))
        assert len(public(warned)) == before + 1, "the warning waited for the hung turn"
    finally:
        os.kill(action_server, signal.SIGCONT)
    calls = chatwoot.wait_for(150, handed_over)
    assert sum(REPLIES["stroke"] in body["content"] for body in public(calls)) == 1
