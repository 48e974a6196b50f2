"""The conversation store on a real SQLite file: what reaches the rows and the file's bytes,
hashed sender ids, forget-me, retention (once and on its schedule), and which database the
environment picks."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from rasa.core.tracker_store import FailSafeTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from stores import database, gaps, retention
from stores.tracker_store import FORGET_ME_INTENT, HASHED_SENDER_PREFIX, RedactingSQLTrackerStore, stored_sender_id

ROOT = Path(__file__).resolve().parent.parent
EMAIL, PHONE = "jo.bloggs@example.org", "07700 900123"
HELPLINE = "1-800-344-4867"


@pytest.fixture
def store(tmp_path, monkeypatch) -> RedactingSQLTrackerStore:
    monkeypatch.setenv("DB_URL", f"sqlite:///{tmp_path / 'conversations.db'}")
    return RedactingSQLTrackerStore(domain=Domain.load(str(ROOT / "domain.yml")))


def user(text: str, intent: str, metadata: dict | None = None) -> UserUttered:
    return UserUttered(text, {"name": intent, "confidence": 1.0}, parse_data={
        "text": text, "intent": {"name": intent, "confidence": 1.0}, "entities": []}, metadata=metadata)


def tracker(sender: str, *events) -> DialogueStateTracker:
    return DialogueStateTracker.from_events(sender, [ActionExecuted("action_listen"), *events])


def rows(store: RedactingSQLTrackerStore) -> list[tuple[str, str]]:
    with store.engine.connect() as connection:
        return list(connection.execute(sa.text("SELECT sender_id, data FROM events ORDER BY id")))


def test_stored_rows_hold_no_email_or_phone_number_and_keep_the_red_flag_words(store):
    message = f"my face is drooping, email {EMAIL} or call {PHONE}"
    asyncio.run(store.save(tracker("ana", user(message, "red_flag"), SlotSet("check_one_leg_swollen", f"yes, ring {PHONE}"),
                                   BotUttered(f"Call 911 now. To talk to a person: {HELPLINE}."))))
    stored = "\n".join(data for _, data in rows(store))
    assert EMAIL not in stored and PHONE not in stored and "900123" not in stored
    assert HELPLINE in stored, "the assistant's own reply is stored as it was sent"
    assert "[email]" in stored and "[phone]" in stored and "my face is drooping" in stored
    again = asyncio.run(store.retrieve("ana"))
    assert again.latest_message.text == "my face is drooping, email [email] or call [phone]"
    assert again.get_slot("check_one_leg_swollen") == "yes, ring [phone]"


def test_text_the_database_cannot_take_is_an_error_to_the_caller_never_an_exit(store):
    """Rasa's own store read the UnicodeEncodeError of a lone surrogate (a ValueError) as a missing
    PostgreSQL schema and exited; the server Rasa wraps it in logs the error and goes on."""
    unstorable = tracker("a\ud800", user("hello", "greet"))
    with pytest.raises(UnicodeEncodeError):
        asyncio.run(store.save(unstorable))
    asyncio.run(FailSafeTrackerStore(store).save(unstorable))
    asyncio.run(store.save(tracker("after", user("why do my legs hurt", "ask_leg_pain"))))
    assert asyncio.run(store.retrieve("after")).latest_message.text == "why do my legs hurt"


def test_later_turns_are_added_without_repeating_earlier_ones(store):
    first = tracker("ben", user("why do my legs hurt", "ask_leg_pain"))
    asyncio.run(store.save(first))
    first.update(user("tell me more", "tell_me_more"))
    asyncio.run(store.save(first))
    assert [json.loads(data).get("text") for _, data in rows(store) if json.loads(data)["event"] == "user"] == [
        "why do my legs hurt", "tell me more"]


def test_forget_me_deletes_that_sender_s_conversation_only(store):
    asyncio.run(store.save(tracker("cat", user("why do my legs hurt", "ask_leg_pain"))))
    asyncio.run(store.save(tracker("dan", user("what is the ms hug", "ask_ms_hug"))))
    cat = asyncio.run(store.retrieve("cat"))
    cat.update(user("delete my data", FORGET_ME_INTENT))
    asyncio.run(store.save(cat))
    assert {sender for sender, _ in rows(store)} == {"dan"}
    assert asyncio.run(store.retrieve("cat")) is None


def test_retention_deletes_whole_conversations_past_the_period(store):
    now = time.time()
    old, recent = tracker("old", user("hello", "greet")), tracker("recent", user("hello", "greet"))
    for event in old.events:
        event.timestamp = now - 40 * retention.SECONDS_PER_DAY
    asyncio.run(store.save(old))
    asyncio.run(store.save(recent))
    assert retention.purge(store.engine, days=30, now=now) == ["old"]
    assert {sender for sender, _ in rows(store)} == {"recent"}


def test_retention_on_an_empty_database_deletes_nothing(tmp_path):
    assert retention.purge(database.engine(sa.engine.make_url(f"sqlite:///{tmp_path / 'new.db'}")), days=30) == []


def test_the_environment_picks_the_database():
    assert database.database_url({}).get_backend_name() == "sqlite"
    assert str(database.database_url({}).database).endswith("var/conversations.db")
    url = database.database_url({"DB_HOST": "db", "DB_USER": "rasa", "DB_PASSWORD": "secret", "DB_NAME": "chat"})
    assert (url.drivername, url.host, url.username, url.database) == ("postgresql", "db", "rasa", "chat")
    assert "secret" not in database.describe(url)
    assert database.database_url({"DB_URL": "postgresql://u:p@h:5433/x"}).port == 5433
    # Rasa's Helm chart names the database DB_DATABASE.
    assert database.database_url({"DB_HOST": "db", "DB_DATABASE": "rasa"}).database == "rasa"


def test_an_unreachable_database_is_a_clear_error_and_a_failing_exit(monkeypatch, capsys):
    monkeypatch.setenv("DB_URL", "postgresql://rasa:secret@127.0.0.1:1/assistant")
    with pytest.raises(database.DatabaseError, match="Cannot reach the conversation database"):
        database.check()
    with pytest.raises(SystemExit, match="1"):
        database.main()
    error = capsys.readouterr().err
    assert "127.0.0.1:1" in error and "secret" not in error


def test_gaps_lists_unanswered_messages_grouped_and_counted(store, monkeypatch, capsys):
    asyncio.run(store.save(tracker("g1", user("Can I get a parking badge?", "out_of_scope"),
                                   user("what is fampridine", "nlu_fallback"))))
    asyncio.run(store.save(tracker("g2", user("what is  Fampridine?", "nlu_fallback"),
                                   user(f"call me on {PHONE} about fampridine", "nlu_fallback"),
                                   user("why do my legs hurt", "ask_leg_pain"))))
    assert gaps.gaps(store.engine) == [
        gaps.Gap("not understood", "what is fampridine", 2, 2),
        gaps.Gap("not understood", "call me on [phone] about fampridine", 1, 1),
        gaps.Gap("out of scope", "can i get a parking badge", 1, 1),
    ]
    assert gaps.main(["--top", "1"]) == 0
    printed = capsys.readouterr().out
    assert "| 2 | 2 | not understood | what is fampridine |" in printed and "2 more wordings" in printed


# One person's conversation, full of personal data (tests/personal_data.yml has more), sent with
# their email address as the sender id; and words of theirs that are no personal data but are
# theirs all the same, which forget-me must leave nowhere in the file.
SARAH = "sarah_o'connor@nhs.net"
SARAH_SAYS = [
    "my name is Sarah O'Connor, born 12/03/1961, NHS number 943 476 5919",
    "Dr Patel said my ssn 123-45-6789 and MRN 12345678 are on the letter, I live in 90210",
    "my left knee burns like the summer in Tuscany",
]
PERSONAL_DATA = [SARAH, "Sarah", "O'Connor", "12/03/1961", "943 476 5919", "Patel", "123-45-6789", "12345678", "90210",
                 "John Smith"]
HER_OWN_WORDS = "the summer in Tuscany"


def sarah(store: RedactingSQLTrackerStore, days_ago: float = 0) -> DialogueStateTracker:
    said = tracker(SARAH, *[user(text, "nlu_fallback", metadata={"name": "John Smith"}) for text in SARAH_SAYS])
    for event in said.events:
        event.timestamp = time.time() - days_ago * retention.SECONDS_PER_DAY
    asyncio.run(store.save(said))
    asyncio.run(store.save(tracker("dan", user("what is the ms hug", "ask_ms_hug"))))
    return said


def file_bytes(store: RedactingSQLTrackerStore) -> bytes:
    database_file = Path(store.engine.url.database)
    return b"".join(path.read_bytes() for path in (database_file, Path(f"{database_file}-wal")) if path.exists())


def test_an_email_as_sender_id_is_stored_as_a_keyed_hash_and_the_conversation_goes_on(store, monkeypatch):
    sarah(store)
    senders = {sender for sender, _ in rows(store)}
    assert senders == {stored_sender_id(SARAH), "dan"} and stored_sender_id(SARAH).startswith(HASHED_SENDER_PREFIX)
    assert stored_sender_id(stored_sender_id(SARAH)) == stored_sender_id(SARAH), "a stored id is its own stored id"
    stored = "\n".join(data for _, data in rows(store))
    assert not [item for item in PERSONAL_DATA if item in stored]
    assert HER_OWN_WORDS in stored and "[date of birth]" in stored and "[id number]" in stored

    again = asyncio.run(store.retrieve(SARAH))
    assert again.sender_id == SARAH and again.latest_message.text == SARAH_SAYS[-1]
    again.update(user("tell me more", "tell_me_more"))
    asyncio.run(store.save(again))
    assert asyncio.run(store.retrieve(SARAH)) is asyncio.run(store.retrieve(SARAH)), "kept between turns, by its hash"
    restarted = RedactingSQLTrackerStore(domain=store.domain)
    assert restarted.cache is not store.cache
    assert asyncio.run(restarted.retrieve(SARAH)).latest_message.text == "tell me more"
    assert {stored_sender_id(SARAH), "dan"} == set(asyncio.run(store.keys()))


def test_a_phone_number_as_sender_id_is_hashed_and_an_ordinary_one_is_not():
    assert stored_sender_id("+44 7700 900123").startswith(HASHED_SENDER_PREFIX)
    assert stored_sender_id("07700900123") != stored_sender_id("07700900124")
    for ordinary in ("dan", "patient-3", "5f2b6c0e9a7d4e21b0c3f7a1d2e4b6c8", "1254459154682919"[:6]):
        assert stored_sender_id(ordinary) == ordinary


def test_forget_me_leaves_nothing_of_the_conversation_in_the_file_or_its_log(store):
    said = sarah(store)
    assert HER_OWN_WORDS.encode() in file_bytes(store)
    said.update(user("forget me", FORGET_ME_INTENT))
    asyncio.run(store.save(said))
    assert {sender for sender, _ in rows(store)} == {"dan"}
    left = file_bytes(store)
    assert HER_OWN_WORDS.encode() not in left and stored_sender_id(SARAH).encode() not in left
    assert not [item for item in PERSONAL_DATA if item.encode() in left]
    assert b"what is the ms hug" in left


def test_the_retention_purge_leaves_nothing_of_the_conversation_in_the_file_or_its_log(store):
    sarah(store, days_ago=40)
    assert retention.purge(store.engine, days=30) == [stored_sender_id(SARAH)]
    left = file_bytes(store)
    assert HER_OWN_WORDS.encode() not in left and stored_sender_id(SARAH).encode() not in left
    assert b"what is the ms hug" in left


def test_the_retention_purge_runs_on_its_own_schedule_until_signalled(store, tmp_path):
    sarah(store, days_ago=40)
    environment = {**os.environ, "DB_URL": str(store.engine.url), "RETENTION_EVERY_HOURS": "0.0005"}  # 1.8 s
    purger = subprocess.Popen([sys.executable, "-m", "stores.retention", "--every-hours"], cwd=ROOT, env=environment,
                              stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: {sender for sender, _ in rows(store)} == {"dan"}, "the first round")
        asyncio.run(store.save(tracker("eve", *[user("hello", "greet")])))
        with store.engine.begin() as connection:  # eve's conversation ages by 40 days
            connection.execute(sa.text("UPDATE events SET timestamp = timestamp - 3456000 WHERE sender_id = 'eve'"))
        wait_for(lambda: {sender for sender, _ in rows(store)} == {"dan"}, "a later round")
        assert purger.poll() is None, "it keeps running"
    finally:
        purger.send_signal(signal.SIGTERM)
        assert purger.wait(timeout=10) == 0
    said = purger.stderr.read()
    assert said.count("Retention: deleted 1 conversation(s) older than 30 days") == 2, said


def wait_for(condition, what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen within {seconds} s"
        time.sleep(0.1)
