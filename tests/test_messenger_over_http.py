"""Messenger end to end: Meta's documented notifications, signed with the test app secret, posted to
the running Rasa server (`scripts/serve.sh`, started by the `assistant` fixture), and the replies
read from the stand-in for the Graph Send API (`tests/graph_stand_in.py`).

Replies go out after the webhook has answered, so tests wait for them on the stand-in's record.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import aiohttp
import pytest
from sanic import Sanic

from channels import messenger_protocol as protocol
from channels.messenger import MessengerInput
from pain_assistant import incoming, knowledge, red_flags, replies
from tests import graph_stand_in
from tests.graph_stand_in import APP_SECRET, VERIFY_TOKEN, GraphStandIn

WEBHOOK = "http://localhost:5005/webhooks/messenger/webhook"
PAGE_ID = "1000000000000001"
KNOWLEDGE = knowledge.load()
MESSAGE_NUMBERS = itertools.count()
WARNINGS = {flag.id: flag.reply for flag in red_flags.load(region="us").flags}


@pytest.fixture(scope="module")
def graph(assistant, request) -> GraphStandIn:
    return request.config.stash[graph_stand_in.STASH_KEY]


# Meta's documented shapes (Messenger Platform webhook events reference).


def page(*entries: dict) -> dict:
    return {"object": "page", "entry": list(entries)}


def entry(*events: dict) -> dict:
    return {"id": PAGE_ID, "time": 1458692752478, "messaging": list(events)}


def text_event(sender: str, text: str) -> dict:
    return {"sender": {"id": sender}, "recipient": {"id": PAGE_ID}, "timestamp": 1458692752478,
            "message": {"mid": f"m_{sender}_{next(MESSAGE_NUMBERS)}", "text": text}}


def quick_reply_event(sender: str, title: str, payload: str) -> dict:
    event = text_event(sender, title)
    event["message"]["quick_reply"] = {"payload": payload}
    return event


def postback_event(sender: str, title: str, payload: str) -> dict:
    return {"sender": {"id": sender}, "recipient": {"id": PAGE_ID}, "timestamp": 1527459824,
            "postback": {"mid": f"m_{sender}_{next(MESSAGE_NUMBERS)}", "title": title, "payload": payload}}


def delivery_event(sender: str) -> dict:
    return {"sender": {"id": sender}, "recipient": {"id": PAGE_ID},
            "delivery": {"mids": ["mid.1458668856218:ed81099e15d3f4f233"], "watermark": 1458668856253}}


def read_event(sender: str) -> dict:
    return {"sender": {"id": sender}, "recipient": {"id": PAGE_ID}, "timestamp": 1458668856463,
            "read": {"watermark": 1458668856253}}


def echo_event(recipient: str, text: str) -> dict:
    return {"sender": {"id": PAGE_ID}, "recipient": {"id": recipient}, "timestamp": 1457764197627,
            "message": {"is_echo": True, "app_id": 1517776481860111, "mid": "mid.1457764197618:41d1", "text": text}}


def post(body: dict | bytes, signature: str | None = "sign", content_type: str = "application/json") -> tuple[int, str]:
    """POST to the webhook, signed with the app secret unless another `signature` (or None) is given."""
    raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    headers = {"Content-Type": content_type}
    if signature == "sign":
        headers[protocol.SIGNATURE_HEADER] = protocol.sign(raw, APP_SECRET)
    elif signature is not None:
        headers[protocol.SIGNATURE_HEADER] = signature
    return _call(urllib.request.Request(WEBHOOK, data=raw, headers=headers, method="POST"))


def get(**query: str) -> tuple[int, str]:
    return _call(urllib.request.Request(f"{WEBHOOK}?{urllib.parse.urlencode(query)}"))


def _call(request: urllib.request.Request) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def texts(messages: list[dict[str, Any]]) -> list[str]:
    return [message["text"] for message in messages]


def answered(entry_id: str):
    """Done once the entry's clinician line, the last message of an answer, has arrived."""
    return lambda messages: KNOWLEDGE[entry_id].see_clinician in texts(messages)


def has_text(fragment: str):
    return lambda messages: any(fragment in text for text in texts(messages))


def test_the_verify_handshake_echoes_the_challenge_only_for_the_verify_token(assistant):
    assert get(**{"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"}) == (
        200, "1158201444")
    for query in [{"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
                  {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"},
                  {"hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"}, {}]:
        status, body = get(**query)
        assert status == 403 and "Verification failed" in json.loads(body)["error"], query


def test_a_batch_is_answered_event_by_event_and_only_people_s_messages_get_replies(graph):
    muscle_payload = replies.topic_button(KNOWLEDGE["musculoskeletal_pain"]).payload
    hug_payload = replies.topic_button(KNOWLEDGE["ms_hug"]).payload
    notification = page(
        entry(text_event("m-batch-legs", "why do my legs hurt"), delivery_event("m-batch-delivery"),
              read_event("m-batch-read")),
        entry(echo_event("m-batch-echo", "an answer the page sent"),
              quick_reply_event("m-batch-quick", "Muscle & joint pain", muscle_payload)),
        {"id": PAGE_ID, "time": 1570053170926, "standby": [text_event("m-batch-standby", "why do my legs hurt")]},
        entry(postback_event("m-batch-postback", "MS hug", hug_payload),
              text_event("m-batch-legs", "what about my arms?")),
    )
    assert post(notification) == (200, "EVENT_RECEIVED")

    legs = graph.wait_for("m-batch-legs", has_text("arms too"))
    leg_answer = next(n for n, text in enumerate(texts(legs)) if KNOWLEDGE["leg_pain"].answer in text)
    assert leg_answer < next(n for n, text in enumerate(texts(legs)) if "arms too" in text), "in the order sent"
    graph.wait_for("m-batch-quick", answered("musculoskeletal_pain"))
    graph.wait_for("m-batch-postback", answered("ms_hug"))
    for ignored in ["m-batch-delivery", "m-batch-read", "m-batch-echo", PAGE_ID, "m-batch-standby"]:
        assert graph.requests_to(ignored) == [], ignored
    assert graph.refusals() == []


def test_safety_holds_on_messenger_red_flags_get_the_warning_and_answers_end_with_the_clinician(graph):
    assert post(page(entry(text_event("m-red-flag", "her face is drooping and she cant lift her arm"),
                           text_event("m-ordinary", "why do my legs hurt")))) == (200, "EVENT_RECEIVED")

    warned = graph.wait_for("m-red-flag", has_text(WARNINGS["stroke"]))
    assert any("Call 911" in text for text in texts(warned))
    ordinary = graph.wait_for("m-ordinary", answered("leg_pain"))
    assert knowledge.CLINICIAN_PATTERN.search(ordinary[-1]["text"])
    assert ordinary[-1]["text"] == KNOWLEDGE["leg_pain"].see_clinician
    assert not any("911" in text for text in texts(ordinary)[1:]), "only the opening disclaimer names the number"


def test_buttons_arrive_as_quick_replies_that_messenger_accepts(graph):
    assert post(page(entry(text_event("m-buttons", "what is the ms hug"))))[0] == 200

    messages = graph.wait_for("m-buttons", answered("ms_hug"))
    steer = replies.answer(KNOWLEDGE["ms_hug"], KNOWLEDGE)[-1]
    assert messages[-1]["quick_replies"] == [
        {"content_type": "text", "title": button.title, "payload": button.payload} for button in steer.buttons
    ]
    assert graph.refusals() == []


def test_an_overlong_message_gets_the_limit_and_an_empty_one_a_gentle_prompt(graph):
    overlong = ("My legs hurt and I am worried. " * 170)[:5001]
    photo = {"sender": {"id": "m-photo"}, "recipient": {"id": PAGE_ID}, "timestamp": 1518479195308,
             "message": {"mid": "m_photo", "attachments": [{"type": "image", "payload": {"url": "https://example.com/x.png"}}]}}
    assert post(page(entry(text_event("m-long", overlong), text_event("m-empty", "   "), photo)))[0] == 200

    assert texts(graph.wait_for("m-long", bool)) == [incoming.TOO_LONG_REPLY]
    assert texts(graph.wait_for("m-empty", bool)) == [incoming.EMPTY_PROMPT]
    assert texts(graph.wait_for("m-photo", bool)) == [incoming.EMPTY_PROMPT]

    assert post(page(entry(text_event("m-long", "why do my legs hurt"))))[0] == 200
    after = graph.wait_for("m-long", answered("leg_pain"))
    assert texts(after).count(incoming.TOO_LONG_REPLY) == 1 and after[0]["text"] == incoming.TOO_LONG_REPLY


def test_a_resent_notification_is_not_answered_twice(graph):
    question = text_event("m-resent", "what is the ms hug")
    assert post(page(entry(question)))[0] == 200
    first = graph.wait_for("m-resent", answered("ms_hug"))
    # Meta resends it, in a batch with a new message: only the new one is answered.
    assert post(page(entry(question, text_event("m-resent", "what is spasticity"))))[0] == 200
    after = graph.wait_for("m-resent", answered("spasticity"))
    assert texts(after).count(KNOWLEDGE["ms_hug"].see_clinician) == 1
    assert after[: len(first)] == first


def test_unsigned_or_wrongly_signed_calls_get_403_before_the_body_is_read(graph):
    notification = json.dumps(page(entry(text_event("m-unsigned", "why do my legs hurt")))).encode()
    wrong_secret = protocol.sign(notification, "not the app secret")
    sha1_style = "sha1=" + protocol.sign(notification, APP_SECRET).removeprefix("sha256=")
    for signature in [None, "", wrong_secret, sha1_style, protocol.sign(notification + b" ", APP_SECRET)]:
        status, body = post(notification, signature=signature)
        assert status == 403 and protocol.SIGNATURE_HEADER in json.loads(body)["error"], signature
    # Unreadable bodies are refused for their signature first: nothing is parsed before it is checked.
    assert post(b"{not json", signature=None)[0] == 403
    assert post(b"{not json", signature=wrong_secret, content_type="text/plain")[0] == 403

    assert post(page(entry(text_event("m-after-unsigned", "what is the ms hug"))))[0] == 200
    graph.wait_for("m-after-unsigned", answered("ms_hug"))
    assert graph.requests_to("m-unsigned") == []


def test_bad_bodies_get_400_with_a_clear_message_and_the_next_message_is_answered(graph):
    valid = json.dumps(page(entry(text_event("m-bad", "why do my legs hurt")))).encode()
    cases = [
        (b"{not json", "application/json", "not valid JSON"),
        (b"\xff\xfe{}", "application/json", "not valid JSON"),
        (b"[" * 50_000 + b"]" * 50_000, "application/json", "not valid JSON"),
        (b'["page"]', "application/json", "JSON object"),
        (json.dumps({"object": "instagram", "entry": []}).encode(), "application/json", '"object" must be "page"'),
        (b'{"object": "page"}', "application/json", '"entry" list'),
        (valid.replace(b'"m-bad"', b'"m-bad\\ud800"'), "application/json", '"entry[0].messaging[0].sender.id" is not valid UTF-8'),
        (valid, "text/plain", "Content-Type: application/json"),
        (valid, "application/x-www-form-urlencoded", "Content-Type: application/json"),
    ]
    for body, content_type, problem in cases:
        status, answer = post(body, content_type=content_type)
        assert status == 400 and problem in json.loads(answer)["error"], (body[:30], answer)

    assert post(page(entry(text_event("m-after-bad", "what is the ms hug"))))[0] == 200
    graph.wait_for("m-after-bad", answered("ms_hug"))
    assert graph.requests_to("m-bad") == []


def test_a_failing_send_api_is_survived_and_the_next_message_is_answered(graph):
    graph.fail_sends_to("m-unlucky")
    assert post(page(entry(text_event("m-unlucky", "why do my legs hurt")))) == (200, "EVENT_RECEIVED")
    graph.wait_for("m-unlucky", lambda _: len(graph.requests_to("m-unlucky")) >= 2)

    assert post(page(entry(text_event("m-after-failure", "what is the ms hug"))))[0] == 200
    graph.wait_for("m-after-failure", answered("ms_hug"))


def test_without_its_secrets_the_channel_is_registered_but_answers_503(monkeypatch):
    """In-process, with the secrets unset: the webhook says how to turn the channel on."""
    for name in ["MESSENGER_VERIFY_TOKEN", "MESSENGER_APP_SECRET", "MESSENGER_PAGE_ACCESS_TOKEN"]:
        monkeypatch.delenv(name, raising=False)
    channel = MessengerInput.from_credentials(None)

    async def on_new_message(message: Any) -> None:
        raise AssertionError("an unconfigured channel must not pass messages on")

    async def ask() -> list[tuple[int, Any]]:
        app = Sanic("messenger_channel_off", configure_logging=False)
        app.blueprint(channel.blueprint(on_new_message), url_prefix=f"/webhooks/{channel.name()}")
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            server = await app.create_server(sock=sock, return_asyncio_server=True, access_log=False)
            await server.startup()
            base = f"http://127.0.0.1:{sock.getsockname()[1]}/webhooks/messenger"
            try:
                async with aiohttp.ClientSession() as session:
                    return [
                        (answer.status, await answer.json()) for answer in [
                            await session.get(f"{base}/webhook?hub.mode=subscribe&hub.verify_token=&hub.challenge=1"),
                            await session.post(f"{base}/webhook", json=page(entry(text_event("m-off", "hello")))),
                            await session.get(f"{base}/"),
                        ]
                    ]
            finally:
                server.close()
                await server.wait_closed()

    verify, receive, health = asyncio.run(ask())
    for status, body in [verify, receive]:
        assert status == 503
        assert all(name in body["error"] for name in ["MESSENGER_VERIFY_TOKEN", "MESSENGER_APP_SECRET",
                                                      "MESSENGER_PAGE_ACCESS_TOKEN"])
    assert health == (200, {"status": "off"})
