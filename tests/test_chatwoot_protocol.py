"""Chatwoot's agent-bot protocol without Rasa: which deliveries are believed, which webhooks are
answered, and the message shapes."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from channels import chatwoot_protocol as protocol
from pain_assistant import incoming
from tests.chatwoot_stand_in import ACCOUNT_ID, WEBHOOK_SECRET, delivery_headers, message_created, webhook_body
from tests.servers import ROOT

TOLERANCE = protocol.TIMESTAMP_TOLERANCE_SECONDS
SIGNED = protocol.Settings("https://chat.example.org", "bot-token", webhook_secret=WEBHOOK_SECRET)
URL_TOKEN = protocol.Settings("https://chat.example.org", "bot-token", url_token="url-token-123")
NOW = 1_767_000_000
BODY = webhook_body(message_created(12, "her face is drooping — ça va?"))


def refusal(settings: protocol.Settings, body: bytes = BODY, headers: dict[str, str] | None = None,
            url_token: str | None = None, now: float = NOW) -> str | None:
    headers = delivery_headers(body, timestamp=NOW) if headers is None else headers
    return protocol.refusal(
        settings, body, signature_header=headers.get("X-Chatwoot-Signature"),
        timestamp_header=headers.get("X-Chatwoot-Timestamp"), url_token=url_token, now=now,
    )


# Verifying deliveries


def test_a_delivery_signed_as_chatwoot_signs_it_passes():
    assert refusal(SIGNED) is None
    headers = delivery_headers(BODY, timestamp=NOW)
    assert protocol.signature(BODY, str(NOW), WEBHOOK_SECRET) == headers["X-Chatwoot-Signature"]


@pytest.mark.parametrize("left_out", [("X-Chatwoot-Signature",), ("X-Chatwoot-Timestamp",),
                                      ("X-Chatwoot-Signature", "X-Chatwoot-Timestamp")])
def test_an_unsigned_delivery_is_refused(left_out):
    headers = {name: value for name, value in delivery_headers(BODY, timestamp=NOW).items() if name not in left_out}
    assert refusal(SIGNED, headers=headers) == protocol.UNSIGNED


def test_a_forged_or_altered_delivery_is_refused():
    assert refusal(SIGNED, headers=delivery_headers(BODY, secret="a guess", timestamp=NOW)) == protocol.FORGED
    altered = BODY.replace(b"drooping", b"dropping")
    assert refusal(SIGNED, altered, delivery_headers(BODY, timestamp=NOW)) == protocol.FORGED
    signed_body_only = {**delivery_headers(BODY, timestamp=NOW),
                        "X-Chatwoot-Signature": protocol.SIGNATURE_PREFIX + "0" * 64}
    assert refusal(SIGNED, headers=signed_body_only) == protocol.FORGED


def test_a_fresh_timestamp_cannot_be_put_on_an_old_signature():
    old = delivery_headers(BODY, timestamp=NOW - 3600)
    assert refusal(SIGNED, headers={**old, "X-Chatwoot-Timestamp": str(NOW)}) == protocol.FORGED


@pytest.mark.parametrize("age", [TOLERANCE + 1, 3600, -TOLERANCE - 1])
def test_a_delivery_signed_too_long_ago_or_ahead_is_refused(age):
    assert refusal(SIGNED, headers=delivery_headers(BODY, timestamp=NOW - age)) == protocol.STALE


@pytest.mark.parametrize("age", [0, TOLERANCE, -TOLERANCE])
def test_clocks_a_few_minutes_apart_are_allowed(age):
    assert refusal(SIGNED, headers=delivery_headers(BODY, timestamp=NOW - age)) is None


@pytest.mark.parametrize("timestamp", ["soon", "-1", "1.5e9", "１７６７００００００", "9" * 5000])
def test_a_timestamp_that_is_not_unix_seconds_is_refused(timestamp):
    headers = {**delivery_headers(BODY, timestamp=NOW), "X-Chatwoot-Timestamp": timestamp}
    assert refusal(SIGNED, headers=headers) == protocol.BAD_TIMESTAMP


def test_with_a_webhook_secret_the_url_token_opens_nothing():
    both = protocol.Settings("https://chat.example.org", "bot-token", WEBHOOK_SECRET, "url-token-123")
    assert refusal(both, headers={}, url_token="url-token-123") == protocol.UNSIGNED
    assert refusal(both) is None


def test_without_signing_the_url_token_must_match():
    assert refusal(URL_TOKEN, headers={}, url_token="url-token-123") is None
    for wrong in (None, "", "url-token-12", "url-token-1234", "URL-TOKEN-123", "url-token-123\u0000"):
        assert refusal(URL_TOKEN, headers={}, url_token=wrong) == protocol.WRONG_URL_TOKEN, wrong


def test_replays_are_known_by_delivery_id_and_by_message_id():
    answered = protocol.read_webhook(message_created(12, "hello"))
    message = f"message {ACCOUNT_ID}:{answered.incoming.message_id}"
    assert protocol.replay_keys(" 5e1b ", answered) == ("delivery 5e1b", message)
    assert protocol.replay_keys(None, answered)[0] is None
    ignored = protocol.read_webhook(message_created(12, "hello", private=True))
    assert protocol.replay_keys("5e1b", ignored) == ("delivery 5e1b", None)


def test_an_incoming_contact_message_in_a_pending_conversation_is_answered():
    webhook = protocol.read_webhook(message_created(12, "why do my legs hurt"))
    assert webhook.ignored == ""
    conversation = protocol.Conversation(ACCOUNT_ID, 12)
    assert webhook.incoming == protocol.Incoming(conversation, webhook.incoming.message_id, "why do my legs hurt")
    assert webhook.incoming.conversation.sender_id == f"{ACCOUNT_ID}:12"
    assert webhook.status == "pending"


@pytest.mark.parametrize(
    "changes, why",
    [
        ({"message_type": "outgoing", "sender_type": "agent_bot"}, "message_type 'outgoing'"),
        ({"message_type": "outgoing", "sender_type": "user"}, "message_type 'outgoing'"),
        ({"message_type": "activity"}, "message_type 'activity'"),
        ({"message_type": "template"}, "message_type 'template'"),
        ({"sender_type": "user"}, "not sent by a contact"),
        ({"private": True}, "a private note"),
        ({"message_type": "outgoing", "sender_type": "user", "private": True}, "message_type 'outgoing'"),
        ({"status": "open"}, "conversation status 'open'"),
        ({"status": "resolved"}, "conversation status 'resolved'"),
        ({"status": "snoozed"}, "conversation status 'snoozed'"),
    ],
)
def test_what_the_bot_must_not_answer_is_ignored_with_a_reason(changes, why):
    webhook = protocol.read_webhook(message_created(12, "hello", **changes))
    assert webhook.incoming is None
    assert webhook.ignored.startswith(why)
    assert webhook.conversation == protocol.Conversation(ACCOUNT_ID, 12)


@pytest.mark.parametrize("event", ["message_updated", "conversation_created", "webwidget_triggered", None])
def test_only_message_created_is_answered(event):
    payload = message_created(12, "hello")
    payload["event"] = event
    assert protocol.read_webhook(payload).incoming is None


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"event": "message_created", "message_type": "incoming"},
        {**message_created(12, "hi"), "account": {"id": "seven"}},
        {**message_created(12, "hi"), "conversation": {"id": True, "status": "pending"}},
        {**message_created(12, "hi"), "conversation": "12"},
        {**message_created(12, "hi"), "sender": None},
        {**message_created(12, "hi"), "private": None},
    ],
)
def test_odd_shapes_are_ignored_not_failed(payload):
    assert protocol.read_webhook(payload).incoming is None


def test_ids_given_as_strings_of_digits_are_read():
    payload = {**message_created(12, "hi"), "account": {"id": "7"}, "id": "118"}
    payload["conversation"] = {**payload["conversation"], "id": "12"}
    incoming = protocol.read_webhook(payload).incoming
    assert incoming.conversation == protocol.Conversation(7, 12)
    assert incoming.message_id == "118"


@pytest.mark.parametrize("content", [None, "", "   \n "])
def test_a_message_without_words_is_answered_with_a_prompt(content):
    message = protocol.read_webhook(message_created(12, content)).incoming
    assert message is not None
    assert incoming.to_process(protocol.rasa_text(message.text, frozenset())) == incoming.Instead(incoming.EMPTY_PROMPT)


def test_typed_text_cannot_pose_as_a_payload():
    assert protocol.rasa_text("/greet her face is drooping", frozenset()) == "greet her face is drooping"
    assert protocol.rasa_text(" why do my legs hurt\n", frozenset()) == "why do my legs hurt"


def test_an_offered_button_sent_back_as_its_value_reaches_rasa_as_the_payload():
    offered = frozenset({'/ask_topic{"topic": "ms_hug"}', "yes"})
    assert protocol.rasa_text(' /ask_topic{"topic": "ms_hug"} ', offered) == '/ask_topic{"topic": "ms_hug"}'
    assert protocol.rasa_text('/ask_topic{"topic": "spasticity"}', offered) == 'ask_topic{"topic": "spasticity"}'


def test_offered_payloads_are_the_values_of_the_options_sent():
    messages = protocol.outgoing_messages([
        {"text": "Intro"},
        {"text": "Pick", "buttons": [{"title": "MS hug", "payload": "/ask_topic{\"topic\": \"ms_hug\"}"},
                                     {"title": "Yes", "payload": "yes"}]},
    ])
    assert protocol.offered_payloads(messages) == {'/ask_topic{"topic": "ms_hug"}', "yes"}
    assert protocol.offered_payloads([protocol.text_message("no buttons")]) == frozenset()


@pytest.mark.parametrize("body", [b"{not json", b"\xff\xfe", b"", b"[1, 2]", b'"text"', b"[" * 100_000])
def test_bodies_that_are_not_a_json_object_are_bad_requests(body):
    with pytest.raises(protocol.BadRequest):
        protocol.parse_body(body)


@pytest.mark.parametrize(
    "content_type, expected",
    [("application/json", True), ("application/json; charset=utf-8", True), ("Application/JSON", True),
     ("text/plain", False), ("application/x-www-form-urlencoded", False), (None, False)],
)
def test_content_type(content_type, expected):
    assert protocol.is_json(content_type) is expected


ON = {protocol.URL_VARIABLE: " https://chat.example.org/ ", protocol.TOKEN_VARIABLE: "bot-token-value"}


def test_settings_come_from_the_environment_and_hide_the_secrets():
    environment = {**ON, protocol.WEBHOOK_SECRET_VARIABLE: "webhook-secret-value",
                   protocol.WEBHOOK_TOKEN_VARIABLE: "url-token-value"}
    settings = protocol.Settings.from_environment(environment)
    secrets = ("bot-token-value", "webhook-secret-value", "url-token-value")
    assert settings == protocol.Settings("https://chat.example.org", *secrets)
    assert "https://chat.example.org" in repr(settings)
    assert not any(secret in repr(settings) for secret in secrets)


@pytest.mark.parametrize(
    "environment",
    [ON, {**ON, protocol.WEBHOOK_SECRET_VARIABLE: " ", protocol.WEBHOOK_TOKEN_VARIABLE: ""},
     {protocol.URL_VARIABLE: "https://chat.example.org", protocol.WEBHOOK_SECRET_VARIABLE: "s"},
     {protocol.TOKEN_VARIABLE: "x", protocol.URL_VARIABLE: " ", protocol.WEBHOOK_SECRET_VARIABLE: "s"}],
)
def test_the_channel_is_off_without_a_way_to_verify_deliveries(environment):
    assert protocol.Settings.from_environment(environment) is None
    assert protocol.mode(environment).startswith("off (set ")


def test_the_mode_line_says_how_deliveries_are_verified_or_what_to_set():
    assert protocol.mode({**ON, protocol.WEBHOOK_SECRET_VARIABLE: "s", protocol.WEBHOOK_TOKEN_VARIABLE: "t"}) == (
        "on, signed deliveries (X-Chatwoot-Signature checked with CHATWOOT_WEBHOOK_SECRET)"
    )
    assert protocol.mode({**ON, protocol.WEBHOOK_TOKEN_VARIABLE: "t"}).startswith("on, URL token (weaker: ")
    assert protocol.mode(ON) == (
        "off (set CHATWOOT_WEBHOOK_SECRET (CHATWOOT_WEBHOOK_TOKEN with Chatwoot before 4.13) to turn it on)"
    )
    assert protocol.mode({}) == (
        "off (set CHATWOOT_URL, CHATWOOT_BOT_TOKEN and CHATWOOT_WEBHOOK_SECRET "
        "(CHATWOOT_WEBHOOK_TOKEN with Chatwoot before 4.13) to turn it on)"
    )


def test_the_mode_line_is_what_running_the_module_prints():
    """`scripts/serve.sh` prints it in `make run`'s banner."""
    environment = {**{name: value for name, value in os.environ.items() if not name.startswith("CHATWOOT_")},
                   **ON, protocol.WEBHOOK_SECRET_VARIABLE: "s"}
    started = time.monotonic()
    printed = subprocess.run([sys.executable, "-m", "channels.chatwoot_protocol"], env=environment,
                             capture_output=True, text=True, check=True, cwd=ROOT)
    assert printed.stdout == protocol.mode(environment) + "\n" and printed.stderr == ""
    assert time.monotonic() - started < 10


def test_api_paths():
    conversation = protocol.Conversation(7, 12)
    assert conversation.messages_path == "/api/v1/accounts/7/conversations/12/messages"
    assert conversation.toggle_status_path == "/api/v1/accounts/7/conversations/12/toggle_status"


def test_paragraphs_become_one_message_and_buttons_an_input_select():
    replies = [
        {"text": "Why do my legs hurt?"},
        {"text": "Leg pain is common in MS."},
        {"text": "Talk to your doctor about new pain.",
         "buttons": [{"title": "Nerve pain", "payload": "/ask_topic{\"topic\": \"paresthesia\"}"},
                     {"title": "Yes", "payload": "yes"}]},
    ]
    assert protocol.outgoing_messages(replies) == [
        protocol.text_message("Why do my legs hurt?\n\nLeg pain is common in MS."),
        {
            "content": "Talk to your doctor about new pain.",
            "message_type": "outgoing",
            "private": False,
            "content_type": "input_select",
            "content_attributes": {"items": [
                {"title": "Nerve pain", "value": "/ask_topic{\"topic\": \"paresthesia\"}"},
                {"title": "Yes", "value": "yes"},
            ]},
        },
    ]


def test_text_after_buttons_is_a_message_of_its_own():
    replies = [{"text": "Pick one", "buttons": [{"title": "A", "payload": "a"}]}, {"text": "Or ask"}]
    messages = protocol.outgoing_messages(replies)
    assert [message.get("content_type", "text") for message in messages] == ["input_select", "text"]
    assert messages[1]["content"] == "Or ask"


def test_a_button_without_a_payload_sends_its_title():
    message = protocol.options_message("Pick", [{"title": "Not sure"}])
    assert message["content_attributes"]["items"] == [{"title": "Not sure", "value": "Not sure"}]


def test_no_replies_no_messages():
    assert protocol.outgoing_messages([]) == []
    assert protocol.outgoing_messages([{"text": ""}]) == []


def test_private_note_and_status_change():
    assert protocol.private_note("triage") == {"content": "triage", "message_type": "outgoing", "private": True}
    assert protocol.status_change(protocol.OPEN) == {"status": "open"}
