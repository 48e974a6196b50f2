"""The Messenger protocol without Rasa or a network: signatures, the handshake, reading Meta's
notifications, and fitting replies to Messenger's limits. Payloads follow Meta's documented shapes."""

from __future__ import annotations

import json
import unicodedata

import pytest

from channels import messenger_protocol as protocol
from channels.messenger_protocol import Incoming

SECRET = "app-secret"
PAGE_ID = "1000000000000001"


def text_event(sender: str, text: str, mid: str = "m_1") -> dict:
    return {"sender": {"id": sender}, "recipient": {"id": PAGE_ID}, "timestamp": 1458692752478,
            "message": {"mid": mid, "text": text}}


def page(*entries: dict) -> dict:
    return {"object": "page", "entry": list(entries)}


def entry(*events: dict) -> dict:
    return {"id": PAGE_ID, "time": 1458692752478, "messaging": list(events)}


# Signatures


def test_the_signature_is_hmac_sha256_of_the_body_with_the_app_secret():
    # RFC 4231, test case 2: HMAC-SHA256, key "Jefe".
    assert protocol.sign(b"what do ya want for nothing?", "Jefe") == (
        "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    )


def test_a_body_signed_with_the_app_secret_is_accepted():
    body = json.dumps(page(entry(text_event("1", "hello")))).encode()
    assert protocol.signature_matches(body, protocol.sign(body, SECRET), SECRET)


@pytest.mark.parametrize(
    "header",
    [None, "", "sha256=", "sha256=00", "not a signature", "sha256=é≠",
     protocol.sign(b'{"object": "page"}', "another secret"),
     protocol.sign(b'{"object": "page"} ', SECRET),  # one byte more
     protocol.sign(b'{"object": "page"}', SECRET).replace("sha256=", "sha1="),
     protocol.sign(b'{"object": "page"}', SECRET).removeprefix("sha256=")],
)
def test_a_missing_or_wrong_signature_is_refused(header):
    assert not protocol.signature_matches(b'{"object": "page"}', header, SECRET)


def test_the_signature_covers_the_raw_bytes_not_the_parsed_json():
    """Meta signs the body as sent (non-ASCII as raw UTF-8); re-serialising it would change it."""
    raw = '{"object":"page","entry":[{"messaging":[{"message":{"text":"douleur à la jambe"}}]}]}'.encode()
    reserialised = json.dumps(json.loads(raw)).encode()
    assert protocol.signature_matches(raw, protocol.sign(raw, SECRET), SECRET)
    assert not protocol.signature_matches(reserialised, protocol.sign(raw, SECRET), SECRET)


# The verify handshake


def test_the_handshake_echoes_the_challenge_for_subscribe_with_the_right_token():
    assert protocol.handshake_challenge("subscribe", "token", "1158201444", "token") == "1158201444"


@pytest.mark.parametrize(
    "mode, token, challenge",
    [("subscribe", "wrong", "1"), ("unsubscribe", "token", "1"), (None, "token", "1"),
     ("subscribe", None, "1"), ("subscribe", "", "1"), ("subscribe", "token", None), ("subscribe", "tøken", "1")],
)
def test_the_handshake_fails_otherwise(mode, token, challenge):
    assert protocol.handshake_challenge(mode, token, challenge, "token") is None


# Reading a notification


@pytest.mark.parametrize(
    "content_type, accepted",
    [("application/json", True), ("application/json; charset=utf-8", True), ("Application/JSON", True),
     (None, False), ("", False), ("text/plain", False), ("application/x-www-form-urlencoded", False)],
)
def test_only_json_bodies_are_read(content_type, accepted):
    assert protocol.is_json(content_type) is accepted


@pytest.mark.parametrize(
    "body, problem",
    [(b"{not json", "not valid JSON"), (b"", "not valid JSON"), (b"\xff\xfe\xfa", "not valid JSON"),
     (b"[" * 100_000 + b"]" * 100_000, "not valid JSON"),
     (b"[]", "JSON object"), (b'"page"', "JSON object"),
     (b'{"object": "instagram", "entry": []}', '"object" must be "page"'), (b'{"entry": []}', '"object" must be "page"'),
     (b'{"object": "page"}', '"entry" list'), (b'{"object": "page", "entry": {}}', '"entry" list')],
)
def test_an_unreadable_notification_is_a_bad_request_that_says_why(body, problem):
    with pytest.raises(protocol.BadRequest, match=problem):
        protocol.parse_notification(body)


def test_every_message_of_every_entry_is_read_in_order_and_other_events_are_left_out():
    notification = page(
        entry(
            text_event("alice", "why do my legs hurt", "m_a1"),
            {"sender": {"id": "bob"}, "recipient": {"id": PAGE_ID},
             "delivery": {"mids": ["m_x"], "watermark": 1458668856253}},
            {"sender": {"id": "bob"}, "recipient": {"id": PAGE_ID}, "timestamp": 1458668856463,
             "read": {"watermark": 1458668856253}},
        ),
        entry(
            {"sender": {"id": PAGE_ID}, "recipient": {"id": "alice"}, "timestamp": 1457764197627,
             "message": {"is_echo": True, "app_id": 1517776481860111, "mid": "m_echo", "text": "an answer"}},
            {"sender": {"id": "carol"}, "recipient": {"id": PAGE_ID}, "timestamp": 1458692752478,
             "message": {"mid": "m_c1", "text": "Stiffness & spasms",
                         "quick_reply": {"payload": '/ask_topic{"topic": "spasticity"}'}}},
            {"sender": {"id": "bob"}, "recipient": {"id": PAGE_ID}, "timestamp": 1458668856463,
             "reaction": {"reaction": "love", "emoji": "\u2764\ufe0f", "action": "react", "mid": "m_a1"}},
        ),
        {"id": PAGE_ID, "time": 1570053170926,
         "standby": [text_event("dave", "a message another app is handling")]},
        {"id": PAGE_ID, "time": 1570053170926, "changes": [{"field": "feed", "value": {}}]},
        entry(
            {"sender": {"id": "dave"}, "recipient": {"id": PAGE_ID}, "timestamp": 1527459824,
             "postback": {"mid": "m_d1", "title": "MS hug", "payload": '/ask_topic{"topic": "ms_hug"}'}},
            text_event("alice", "what about my arms?", "m_a2"),
        ),
    )
    assert protocol.incoming_messages(notification) == [
        Incoming("alice", "why do my legs hurt", "m_a1"),
        Incoming("carol", '/ask_topic{"topic": "spasticity"}', "m_c1"),
        Incoming("dave", '/ask_topic{"topic": "ms_hug"}', "m_d1"),
        Incoming("alice", "what about my arms?", "m_a2"),
    ]


def test_a_postback_without_a_payload_sends_its_title():
    event = {"sender": {"id": "erin"}, "recipient": {"id": PAGE_ID}, "postback": {"title": "Get Started"}}
    assert protocol.incoming_messages(page(entry(event))) == [Incoming("erin", "Get Started")]


@pytest.mark.parametrize(
    "junk",
    [None, "text", 42, [], {}, {"sender": {}}, {"sender": "erin", "message": {"text": "x"}},
     {"sender": {"id": 7}, "message": {"text": "x"}}, {"sender": {"id": "erin"}},
     {"sender": {"id": "erin"}, "message": "hello"}],
)
def test_events_of_unexpected_shape_are_skipped_without_failing_the_batch(junk):
    notification = page(entry(junk, text_event("frank", "hello")), "not an entry", {"messaging": "nope"})
    assert protocol.incoming_messages(notification) == [Incoming("frank", "hello", "m_1")]


def test_messages_are_grouped_per_person_in_their_order():
    messages = [Incoming("a", "1"), Incoming("b", "2"), Incoming("a", "3")]
    assert protocol.by_sender(messages) == {"a": [messages[0], messages[2]], "b": [messages[1]]}


def test_a_message_resent_by_meta_is_answered_once_and_messages_without_an_id_always():
    recent = protocol.RecentMessageIds(size=2)
    first, second, third = Incoming("a", "1", "m_1"), Incoming("a", "2", "m_2"), Incoming("a", "3", "m_3")
    no_id = Incoming("a", "4")
    assert recent.new([first, no_id]) == [first, no_id]
    assert recent.new([first, second, no_id]) == [second, no_id]
    assert recent.new([first, second, first]) == []
    assert recent.new([third]) == [third]  # past `size`, the least recently seen id (m_2) is forgotten
    assert recent.new([second, first]) == [second]


# Replies


def test_buttons_become_text_quick_replies_with_their_payloads():
    buttons = [{"title": "Check my leg pain", "payload": "/start_leg_check"},
               {"title": "Stiffness & spasms", "payload": '/ask_topic{"topic": "spasticity"}'}]
    assert protocol.quick_replies(buttons) == [
        {"content_type": "text", "title": "Check my leg pain", "payload": "/start_leg_check"},
        {"content_type": "text", "title": "Stiffness & spasms", "payload": '/ask_topic{"topic": "spasticity"}'},
    ]


def test_at_most_13_quick_replies_are_sent():
    buttons = [{"title": f"Topic {n}", "payload": f"/topic_{n}"} for n in range(20)]
    assert [reply["title"] for reply in protocol.quick_replies(buttons)] == [f"Topic {n}" for n in range(13)]


def test_buttons_messenger_would_refuse_are_left_out():
    buttons = [{"title": "", "payload": "/a"}, {"title": "No payload"}, {"title": "Empty", "payload": ""},
               {"title": "Too long", "payload": "/" + "x" * 1000}, {"title": "Link", "url": "https://example.com"},
               {"title": "Fine", "payload": "/fine"}]
    assert protocol.quick_replies(buttons) == [{"content_type": "text", "title": "Fine", "payload": "/fine"}]


@pytest.mark.parametrize(
    "title, expected",
    [("Stiffness & spasms", "Stiffness & spasms"),
     ("Exactly twenty chars", "Exactly twenty chars"),
     ("  Muscle   &\n joint  ", "Muscle & joint"),
     ("Trigeminal neuralgia and face pain", "Trigeminal…"),
     ("Stiffness & spasms at night", "Stiffness & spasms…"),
     ("Supercalifragilisticexpialidocious", "Supercalifragilisti…")],
)
def test_long_titles_are_cut_to_20_characters_at_a_word_with_an_ellipsis(title, expected):
    assert protocol.truncate_title(title) == expected
    assert len(protocol.truncate_title(title)) <= protocol.MAX_QUICK_REPLY_TITLE


@pytest.mark.parametrize(
    "title",
    ["Aaaaaaaaaaaaaaaaaae\u0301tude",  # an accent as a combining mark at the cut
     "Family: 👨\u200d👩\u200d👧\u200d👦 together",  # a joined emoji sequence across the cut
     "Thumbs uppppppp 👍🏽 again", "Hearts heartsssss ❤\ufe0f more"],
)
def test_cutting_a_title_never_splits_a_character_from_its_marks(title):
    cut = protocol.truncate_title(title)
    assert len(cut) <= protocol.MAX_QUICK_REPLY_TITLE and cut.endswith("…")
    kept = cut.removesuffix("…")
    assert title.startswith(kept)
    following = title[len(kept)]
    assert unicodedata.category(following) not in ("Mn", "Mc", "Me") and following not in "\u200d\ufe0f🏽"
    assert not kept.endswith("\u200d")


def test_text_within_2000_characters_is_sent_whole():
    assert protocol.split_text("  Short answer.  ") == ["Short answer."]
    assert protocol.split_text("x" * 2000) == ["x" * 2000]
    assert protocol.split_text("   ") == []


def test_long_text_is_split_at_sentence_ends():
    sentences = [f"Sentence number {n} says something useful about pain in MS." for n in range(80)]
    text = " ".join(sentences)
    pieces = protocol.split_text(text)
    assert len(pieces) > 1
    assert all(len(piece) <= protocol.MAX_TEXT_CHARACTERS for piece in pieces)
    assert all(piece.endswith("MS.") for piece in pieces)
    assert " ".join(pieces) == text


def test_a_paragraph_break_or_a_quoted_sentence_end_is_a_boundary_too():
    first = "First paragraph without a full stop at its end"
    second = "y " * 990
    assert protocol.split_text(f"{first}\n\n{second}") == [first, second.strip()]
    quoted = 'He said "stop." ' + "z" * 1990
    assert protocol.split_text(quoted)[0] == 'He said "stop."'


def test_text_without_sentence_ends_is_split_between_words_then_anywhere():
    words = "word " * 1000
    assert all(len(piece) <= 2000 and not piece.endswith("wor") for piece in protocol.split_text(words))
    assert protocol.split_text("x" * 4500) == ["x" * 2000, "x" * 2000, "x" * 500]
    accented = "e\u0301" * 1500
    pieces = protocol.split_text(accented)
    assert "".join(pieces) == accented and not any(unicodedata.combining(piece[0]) for piece in pieces)


def test_quick_replies_ride_on_the_last_piece_of_a_long_reply():
    text = "A sentence about pain. " * 200
    messages = protocol.outgoing_messages(text, [{"title": "More", "payload": "/tell_me_more"}])
    assert len(messages) == 3
    assert "quick_replies" not in messages[0] and "quick_replies" not in messages[1]
    assert messages[-1]["quick_replies"] == [{"content_type": "text", "title": "More", "payload": "/tell_me_more"}]


def test_a_reply_without_text_sends_nothing():
    assert protocol.outgoing_messages("", [{"title": "More", "payload": "/tell_me_more"}]) == []


def test_the_send_request_is_a_response_to_the_person():
    assert protocol.send_request("12345", {"text": "hello"}) == {
        "recipient": {"id": "12345"}, "messaging_type": "RESPONSE", "message": {"text": "hello"},
    }


def test_graph_errors_are_summarised_for_the_log():
    body = json.dumps({"error": {"message": "Invalid OAuth access token.", "type": "OAuthException",
                                 "code": 190, "error_subcode": 460, "fbtrace_id": "EJplcsCHuLu"}}).encode()
    assert protocol.graph_error(body) == "OAuthException 190: Invalid OAuth access token."
    assert protocol.graph_error(b"<html>Bad gateway</html>") == "<html>Bad gateway</html>"
    assert protocol.graph_error(b"[1]") == "[1]"


# Settings


def test_the_channel_is_on_only_with_all_three_secrets():
    secrets = {"MESSENGER_VERIFY_TOKEN": "v", "MESSENGER_APP_SECRET": "s", "MESSENGER_PAGE_ACCESS_TOKEN": "t"}
    settings = protocol.Settings.from_environment(secrets)
    assert settings == protocol.Settings("v", "s", "t", "https://graph.facebook.com/v19.0")
    assert settings.send_url == "https://graph.facebook.com/v19.0/me/messages"
    for name in secrets:
        assert protocol.Settings.from_environment({**secrets, name: ""}) is None
        assert protocol.Settings.from_environment({key: value for key, value in secrets.items() if key != name}) is None


def test_the_graph_url_is_configurable_and_secrets_stay_out_of_the_repr():
    settings = protocol.Settings.from_environment({
        "MESSENGER_VERIFY_TOKEN": "verify-secret", "MESSENGER_APP_SECRET": "app-secret",
        "MESSENGER_PAGE_ACCESS_TOKEN": "page-secret", "MESSENGER_GRAPH_URL": "http://127.0.0.1:9/v19.0/",
    })
    assert settings.send_url == "http://127.0.0.1:9/v19.0/me/messages"
    assert "secret" not in repr(settings)
