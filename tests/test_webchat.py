"""The web chat in a real browser: Debian's Chromium, driven by Playwright, on the demo page that
`make run` serves, talking to the running Rasa server over socket.io."""

from __future__ import annotations

import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from channels.webchat import NOT_IN_THIS_SESSION, UNREADABLE
from pain_assistant import red_flags, render_safety
from pain_assistant.incoming import EMPTY_PROMPT, TOO_LONG_REPLY
from tests import servers

ROOT = Path(__file__).resolve().parent.parent
DEMO_PAGE = "http://localhost:8080/"
REPORTS = ROOT / "reports"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# Without the background-networking flags Chromium keeps calling Google's hosts, which this
# machine's closed network refuses.
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
REPLY_TIMEOUT = 60_000  # ms; the first answers after start-up can be slow on 2 cores
DETECTOR = red_flags.load(region="us")
DISCLAIMER = render_safety.rendered_domain("us")["responses"]["utter_disclaimer"][0]["text"]
SCRIPT_TAG_MESSAGE = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def browser(assistant) -> Browser:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: `make test` installs Debian's chromium, or set CHROMIUM")
    for _ in range(100):
        if servers.port_open(8080):
            break
        time.sleep(0.1)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Page:
    """The demo page in a fresh browser profile (no stored conversation), failing on any script
    error or dialog: a dialog would mean a message ran as code."""
    context = browser.new_context(viewport={"width": 1000, "height": 800})
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    page.on("dialog", lambda dialog: (problems.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    page.goto(DEMO_PAGE)
    yield page
    context.close()
    assert not problems


def bot_messages(page: Page):
    return page.locator(".mpa-bot")


def say(page: Page, text: str) -> None:
    page.get_by_role("textbox", name="Your message").fill(text)
    page.keyboard.press("Enter")


def test_the_page_opens_with_the_disclaimer(page: Page):
    log = page.get_by_role("log", name="Conversation")
    expect(page.get_by_text("not medical advice")).to_be_visible()
    expect(log).to_contain_text(DISCLAIMER[:60], timeout=REPLY_TIMEOUT)
    expect(page.get_by_role("button", name="Ask about MS pain")).to_have_attribute("aria-expanded", "true")


def test_a_question_gets_its_answer_and_a_button_gets_the_next(page: Page, knowledge_base):
    leg_pain = knowledge_base["leg_pain"]
    say(page, "why do my legs hurt")
    expect(page.locator(".mpa-user").last).to_have_text("You said: why do my legs hurt")
    expect(bot_messages(page).last).to_contain_text(leg_pain.see_clinician, timeout=REPLY_TIMEOUT)

    related = knowledge_base[leg_pain.related[0]]
    page.locator(".mpa-bot").last.get_by_role("button", name=related.short_title).click()
    expect(page.locator(".mpa-user").last).to_contain_text(related.short_title)
    expect(bot_messages(page).last).to_contain_text(related.see_clinician, timeout=REPLY_TIMEOUT)


def test_a_red_flag_gets_the_emergency_warning(page: Page):
    stroke = next(flag for flag in DETECTOR.flags if flag.id == "stroke")
    say(page, "my face is drooping on one side and my arm went weak")
    expect(page.get_by_role("log")).to_contain_text("Call 911", timeout=REPLY_TIMEOUT)
    expect(page.get_by_role("log")).to_contain_text(stroke.reply.split("\n\n")[0][:60])


def test_markup_in_a_message_shows_as_text(page: Page):
    say(page, SCRIPT_TAG_MESSAGE)
    expect(page.locator(".mpa-user").last).to_have_text("You said: " + SCRIPT_TAG_MESSAGE)
    expect(page.locator(".mpa-user ~ .mpa-bot").first).to_be_visible(timeout=REPLY_TIMEOUT)  # a reply
    assert page.locator(".mpa img").count() == 0


def test_the_conversation_survives_a_reload(page: Page, knowledge_base):
    leg_pain = knowledge_base["leg_pain"]
    say(page, "why do my legs hurt")
    expect(bot_messages(page).last).to_contain_text(leg_pain.see_clinician, timeout=REPLY_TIMEOUT)
    shown = page.locator(".mpa-message").all_inner_texts()

    page.reload()
    expect(page.locator(".mpa-message")).to_have_count(len(shown))
    assert page.locator(".mpa-message").all_inner_texts() == shown
    # The same Rasa conversation goes on: "tell me more" follows the topic of before the reload.
    say(page, "tell me more")
    expect(page.get_by_role("log")).to_contain_text(leg_pain.more.split("\n\n")[0][:60], timeout=REPLY_TIMEOUT)
    REPORTS.mkdir(exist_ok=True)
    page.screenshot(path=REPORTS / "webchat.png")


def test_keyboard_only_use_and_phone_width(browser: Browser, knowledge_base):
    ms_hug = knowledge_base["ms_hug"]
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    page.goto(DEMO_PAGE)
    expect(page.get_by_role("log")).to_contain_text("MS", timeout=REPLY_TIMEOUT)
    panel = page.locator(".mpa-panel").bounding_box()
    assert panel and panel["width"] == 390  # the open chat fills a phone's screen

    page.get_by_role("textbox", name="Your message").focus()
    page.keyboard.press("Escape")  # closes the chat and puts the focus on the launcher
    launcher = page.get_by_role("button", name="Ask about MS pain")
    expect(launcher).to_be_focused()
    expect(launcher).to_have_attribute("aria-expanded", "false")
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Ask about MS pain")).to_have_attribute("aria-expanded", "true")
    page.keyboard.type("what is the ms hug")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Send")).to_be_focused()
    outline = page.get_by_role("button", name="Send").evaluate("button => getComputedStyle(button).outlineStyle")
    assert outline == "solid"  # the focus is visible
    page.keyboard.press("Enter")
    expect(bot_messages(page).last).to_contain_text(ms_hug.see_clinician, timeout=REPLY_TIMEOUT)
    REPORTS.mkdir(exist_ok=True)
    page.screenshot(path=REPORTS / "webchat-phone.png")
    context.close()


# Sends raw socket.io events from the page, with the same client the widget uses: strings as
# user messages of one session, anything else as the event's data, however malformed.
RAW_SOCKET = """async ([items, wanted]) => {
  const socket = io("http://localhost:5005", { path: "/socket.io", transports: ["websocket"] });
  const sessionId = await new Promise((resolve) => {
    socket.on("session_confirm", resolve);
    socket.emit("session_request", { session_id: null });
  });
  const replies = [];
  const done = new Promise((resolve) => socket.on("bot_uttered", (reply) => {
    replies.push(reply.text);
    if (replies.length >= wanted) resolve();
  }));
  for (const item of items) {
    socket.emit("user_uttered", typeof item === "string" ? { message: item, session_id: sessionId } : item);
  }
  await done;
  socket.close();
  return replies;
}"""


def test_the_socket_answers_unreadable_empty_and_long_messages_and_goes_on(page: Page):
    items = [7, {"message": 42}, {"message": "hi", "metadata": "x"}, "", "my legs ache " * 500, "thank you"]
    replies = page.evaluate(RAW_SOCKET, [items, len(items)])
    assert replies[:5] == [UNREADABLE] * 3 + [EMPTY_PROMPT, TOO_LONG_REPLY]
    assert replies[5] not in (UNREADABLE, EMPTY_PROMPT, TOO_LONG_REPLY)


# A message in a session this connection did not request (the widget waits for its session's
# confirmation, but socket.io itself sends what was emitted offline before anything else).
BEFORE_THE_SESSION_REQUEST = """async (message) => {
  const socket = io("http://localhost:5005", { path: "/socket.io", transports: ["websocket"] });
  const replies = [];
  const done = new Promise((resolve) => socket.on("bot_uttered", (data) => {
    replies.push(data.text);
    if (replies.length === 2) resolve();
  }));
  socket.emit("user_uttered", { message: message, session_id: "a-session-from-before-the-reconnect" });
  await done;
  socket.close();
  return replies;
}"""


def test_a_red_flag_sent_outside_a_requested_session_still_gets_its_warning(page: Page):
    stroke = next(flag for flag in DETECTOR.flags if flag.id == "stroke")
    replies = page.evaluate(BEFORE_THE_SESSION_REQUEST, "my face is drooping and my arm is weak")
    assert replies == [stroke.reply.split("\n\n")[0], NOT_IN_THIS_SESSION]


# Opens the chat's socket from whatever page it runs on: "connected" or "refused".
TRY_THE_SOCKET = """() => new Promise((resolve) => {
  const socket = io("http://localhost:5005", { path: "/socket.io", transports: ["websocket"], reconnection: false });
  socket.on("connect", () => { socket.close(); resolve("connected"); });
  socket.on("connect_error", () => resolve("refused"));
})"""
class ForeignPage(BaseHTTPRequestHandler):
    """A page of another site, on this machine (a public host could not reach localhost at all in
    Chromium, Local Network Access, so the socket would be refused before our server could)."""

    def do_GET(self) -> None:
        body = f'<script src="{DEMO_PAGE}socket.io.min.js"></script>'.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_a_page_on_another_site_cannot_open_the_chat(browser: Browser, page: Page):
    assert page.evaluate(TRY_THE_SOCKET) == "connected"  # the demo page's origin is allowed
    server = ThreadingHTTPServer(("127.0.0.1", 0), ForeignPage)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    context = browser.new_context()
    try:
        foreign = context.new_page()
        foreign.goto(f"http://localhost:{server.server_port}/")
        assert foreign.evaluate(TRY_THE_SOCKET) == "refused"
    finally:
        context.close()
        server.shutdown()
        server.server_close()


def test_a_stored_session_the_server_did_not_issue_starts_a_new_conversation(browser: Browser):
    """As an id stored before sessions were signed, or one a person typed in: the widget gets a new
    session, shows the new conversation's opening, and says why the old one is gone."""
    storage_key = "ms-pain-chat:http://localhost:5005"
    made_up = {"sessionId": "1", "messages": [{"from": "user", "text": "an old question"}], "open": True}
    context = browser.new_context()
    context.add_init_script(f"localStorage.setItem({json.dumps(storage_key)}, {json.dumps(json.dumps(made_up))})")
    page = context.new_page()
    page.goto(DEMO_PAGE)
    expect(page.get_by_role("status")).to_contain_text("could not be continued")
    expect(page.get_by_role("log")).to_contain_text(DISCLAIMER[:60], timeout=REPLY_TIMEOUT)
    expect(page.get_by_role("log")).not_to_contain_text("an old question")
    stored = page.evaluate("(key) => JSON.parse(localStorage.getItem(key)).sessionId", storage_key)
    assert stored != "1" and "." in stored
    context.close()
