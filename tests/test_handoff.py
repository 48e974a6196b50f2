"""When a conversation goes to a person, and the note the agent gets."""

from __future__ import annotations

import pytest

from pain_assistant import handoff, red_flags
from pain_assistant.handoff import HandoffDesk, Reason, Turn

SEVERITIES = {flag.id: flag.severity for flag in red_flags.load().flags}


def question(text: str, intent: str, *entities: tuple[str, str]) -> Turn:
    return Turn(text, intent, entities, ("action_answer_topic", "action_listen"))


def not_understood(text: str) -> Turn:
    return Turn(text, "nlu_fallback", (), ("utter_not_sure", "action_listen"))


def red_flag(text: str, *flag_ids: str) -> Turn:
    entities = tuple(("red_flag", flag_id) for flag_id in flag_ids)
    return Turn(text, "red_flag", entities, tuple(f"utter_red_flag_{flag_id}" for flag_id in flag_ids))


@pytest.fixture
def desk() -> HandoffDesk:
    return HandoffDesk(SEVERITIES)


def test_ordinary_questions_stay_with_the_assistant(desk):
    assert desk.record("c", question("why do my legs hurt", "ask_leg_pain")) is None
    assert desk.record("c", question("what is baclofen for", "ask_medicine", ("medicine", "baclofen"))) is None


@pytest.mark.parametrize(
    "text",
    ["talk to a human", "Can I speak to someone?", "i want a real person", "agent please", "HUMAN",
     "is there a person i can talk to", "put me through to an agent", "let me talk to somebody real",
     "i want a person not a robot", "transfer me to someone", "speak to an advisor"],
)
def test_asking_for_a_person_hands_over_whatever_the_classifier_said(desk, text):
    assert handoff.asks_for_human(text)
    assert desk.record("c", Turn(text, "ask_talking_to_doctor")) is Reason.HUMAN_REQUEST


@pytest.mark.parametrize(
    "text",
    ["what agent is used for spasticity", "should i talk to my nurse about it", "I spoke to someone at the clinic",
     "talking to people makes it worse", "why do my legs hurt", "human rights"],
)
def test_ordinary_wording_is_not_a_request_for_a_person(text):
    assert not handoff.asks_for_human(text)


def test_the_ask_human_intent_hands_over(desk):
    assert desk.record("c", Turn("can my mum ring you", "ask_human")) is Reason.HUMAN_REQUEST


def test_two_not_understood_replies_in_a_row_hand_over(desk):
    assert desk.record("c", not_understood("asdf")) is None
    assert desk.record("c", not_understood("qwerty")) is Reason.NOT_UNDERSTOOD


def test_an_understood_message_in_between_starts_the_count_again(desk):
    desk.record("c", not_understood("asdf"))
    desk.record("c", question("why do my legs hurt", "ask_leg_pain"))
    assert desk.record("c", not_understood("qwerty")) is None
    assert desk.record("c", not_understood("zxcv")) is Reason.NOT_UNDERSTOOD


def test_unsure_intent_answered_by_the_leg_check_is_understood(desk):
    """The classifier is unsure of "maybe a little", but the leg check took it as an answer."""
    for answer in ["maybe a little", "kinda"]:
        assert desk.record("c", Turn(answer, "nlu_fallback", (), ("leg_check_form", "action_listen"))) is None


def test_rasa_own_fallback_counts_as_not_understood(desk):
    desk.record("c", not_understood("asdf"))
    assert desk.record("c", Turn("hmm", "nlu_fallback", (), ("action_default_fallback",))) is Reason.NOT_UNDERSTOOD


def test_counts_are_per_conversation(desk):
    desk.record("a", not_understood("asdf"))
    assert desk.record("b", not_understood("asdf")) is None


def test_after_a_handover_the_count_starts_again(desk):
    desk.record("c", not_understood("asdf"))
    desk.record("c", not_understood("qwerty"))
    assert desk.record("c", not_understood("again")) is None


@pytest.mark.parametrize("flag_id", ["stroke", "suicidal_thoughts", "dvt"])
def test_every_red_flag_hands_over(desk, flag_id):
    assert desk.record("c", red_flag("...", flag_id)) is Reason.RED_FLAG


def test_a_red_flag_comes_before_a_request_for_a_person(desk):
    assert desk.record("c", red_flag("her face is drooping, get me a human", "stroke")) is Reason.RED_FLAG


def test_only_a_red_flag_keeps_the_assistant_reply():
    assert handoff.keeps_assistant_reply(Reason.RED_FLAG)
    assert not handoff.keeps_assistant_reply(Reason.HUMAN_REQUEST)
    assert not handoff.keeps_assistant_reply(Reason.NOT_UNDERSTOOD)
    assert all(handoff.HANDOFF_NOTICE[reason] for reason in Reason)


def test_the_summary_names_flags_with_severity_topics_and_last_messages(desk):
    desk.record("c", question("why do my legs hurt", "ask_leg_pain"))
    desk.record("c", question("/ask_topic{\"topic\": \"ms_hug\"}", "ask_topic", ("topic", "ms_hug")))
    desk.record("c", question("what is baclofen for", "ask_medicine", ("medicine", "baclofen")))
    desk.record("c", red_flag("my calf is swollen and hot", "dvt"))
    desk.record("c", red_flag("her face is drooping\nand she cant lift her arm", "stroke"))
    summary = desk.summary("c", Reason.RED_FLAG, ["stroke"])
    first_line = f"Handed over by the MS pain assistant: red flag stroke ({SEVERITIES['stroke']})."
    assert summary.splitlines()[0] == first_line
    assert "The assistant has sent its red-flag warning." in summary
    # Most severe first, though the blood clot was raised first.
    assert "Red flags in this conversation: stroke (emergency), dvt (urgent)" in summary
    assert "Topics discussed: leg pain, ms hug, baclofen" in summary
    assert summary.endswith("> her face is drooping and she cant lift her arm")
    assert "> why do my legs hurt" in summary


def test_the_summary_keeps_the_last_messages_only(desk):
    for n in range(handoff.LAST_MESSAGES_KEPT + 3):
        desk.record("c", question(f"message {n}", "ask_leg_pain"))
    summary = desk.summary("c", Reason.HUMAN_REQUEST)
    assert "> message 2" not in summary and f"> message {handoff.LAST_MESSAGES_KEPT + 2}" in summary
    assert summary.count("\n> ") == handoff.LAST_MESSAGES_KEPT


def test_several_flags_in_one_message_are_named_most_severe_first(desk):
    desk.record("c", red_flag("...", "dvt", "stroke"))  # the safety component lists them least severe first
    assert "red flag stroke (emergency), dvt (urgent)." in desk.summary("c", Reason.RED_FLAG, ["dvt", "stroke"])


def test_long_messages_are_cut_short_in_the_summary(desk):
    desk.record("c", question("my legs hurt " * 200, "ask_leg_pain"))
    quoted = desk.summary("c", Reason.HUMAN_REQUEST).splitlines()[-1]
    assert quoted.endswith("…") and len(quoted) <= handoff.QUOTED_CHARACTERS + 3


def test_the_summary_says_why_for_each_reason(desk):
    desk.record("c", Turn("talk to a human", "ask_human"))
    summary = desk.summary("c", Reason.HUMAN_REQUEST)
    assert "they asked to talk to a person" in summary
    assert "Red flags in this conversation: none" in summary and "Topics discussed: none" in summary
    assert "did not understand them 2 times in a row" in desk.summary("c", Reason.NOT_UNDERSTOOD)


def test_a_flag_the_file_does_not_know_is_still_named(desk):
    desk.record("c", red_flag("...", "new_flag"))
    assert "new_flag (unknown severity)" in desk.summary("c", Reason.RED_FLAG, ["new_flag"])


def test_the_oldest_conversations_are_forgotten(desk, monkeypatch):
    monkeypatch.setattr(handoff, "CONVERSATIONS_KEPT", 2)
    desk.record("a", not_understood("asdf"))
    desk.record("b", question("hi", "greet"))
    desk.record("c", question("hi", "greet"))
    assert desk.record("a", not_understood("asdf")) is None  # "a" was forgotten: its count restarted


def test_a_warning_after_a_check_in_question_hands_over_and_the_question_alone_does_not(desk):
    asked = Turn("i took a few too many of my tablets", "red_flag_check", (("red_flag", "overdose"),),
                 ("utter_red_flag_check_now", "action_listen"))
    assert desk.record("c", asked) is None
    confirmed = Turn("/affirm", "affirm", (), ("utter_red_flag_overdose", "action_listen"))
    assert desk.record("c", confirmed) is Reason.RED_FLAG
    assert "overdose (emergency)" in desk.summary("c", Reason.RED_FLAG, ["overdose"])
