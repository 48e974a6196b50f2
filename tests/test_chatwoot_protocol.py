"""Chatwoot's agent-bot protocol without Rasa: which webhooks are answered, and the message shapes."""

from __future__ import annotations

import pytest

from channels import chatwoot_protocol as protocol
from pain_assistant import incoming
from tests.chatwoot_stand_in import ACCOUNT_ID, message_created


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
    assert incoming.reply_instead(protocol.rasa_text(message.text, frozenset())) == incoming.EMPTY_PROMPT


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


def test_settings_come_from_the_environment_and_hide_the_token():
    settings = protocol.Settings.from_environment(
        {protocol.URL_VARIABLE: " https://chat.example.org/ ", protocol.TOKEN_VARIABLE: "secret-token"}
    )
    assert settings.url == "https://chat.example.org" and settings.token == "secret-token"
    assert "secret-token" not in repr(settings)
    assert protocol.Settings.from_environment({protocol.URL_VARIABLE: "https://chat.example.org"}) is None
    assert protocol.Settings.from_environment({protocol.TOKEN_VARIABLE: "x", protocol.URL_VARIABLE: " "}) is None


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
