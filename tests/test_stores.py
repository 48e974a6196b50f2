"""The conversation store on a real SQLite file: what reaches the rows, forget-me, retention, and
which database the environment picks."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from stores import database, gaps, retention
from stores.tracker_store import FORGET_ME_INTENT, RedactingSQLTrackerStore

ROOT = Path(__file__).resolve().parent.parent
EMAIL, PHONE = "jo.bloggs@example.org", "07700 900123"
HELPLINE = "1-800-344-4867"


@pytest.fixture
def store(tmp_path, monkeypatch) -> RedactingSQLTrackerStore:
    monkeypatch.setenv("DB_URL", f"sqlite:///{tmp_path / 'conversations.db'}")
    return RedactingSQLTrackerStore(domain=Domain.load(str(ROOT / "domain.yml")))


def user(text: str, intent: str) -> UserUttered:
    return UserUttered(text, {"name": intent, "confidence": 1.0}, parse_data={
        "text": text, "intent": {"name": intent, "confidence": 1.0}, "entities": []})


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
