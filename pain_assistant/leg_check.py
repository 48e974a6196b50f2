"""The guided leg-pain check: its questions, how free-text answers are read, and what follows.

Each question looks for one red flag. Any "yes" ends the check with that flag's warning;
otherwise the person gets what is known about leg pain and what helps, and the clinician steer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pain_assistant.knowledge import KnowledgeBase
from pain_assistant.replies import Message, answer

YES, NO, UNSURE = "yes", "no", "unsure"
FLAG_SLOT = "leg_check_flag"
# After the check: nerve pain and muscle pain, and what helps each.
RESULT_ENTRIES = ("leg_pain", "neuropathic_pain_treatment", "musculoskeletal_pain_treatment")


@dataclass(frozen=True)
class Question:
    slot: str
    flag_id: str


# In the order asked; the wording is in domain.yml as utter_ask_<slot>.
QUESTIONS = (
    Question("check_sudden", "sudden_leg_paralysis"),
    Question("check_one_leg_swollen", "dvt"),
    Question("check_fever", "infection_worsening"),
    Question("check_steroids", "osteonecrosis"),
    Question("check_bladder_bowel", "cauda_equina"),
    Question("check_fall", "serious_fall"),
    Question("check_over_a_day", "possible_relapse"),
)
SLOTS = tuple(q.slot for q in QUESTIONS)

_NO = re.compile(
    r"\b(?:no|nope|nah|not really|not at all|never|none|neither|dont think so|don't think so|"
    r"i dont|i don't|havent|haven't|hasnt|hasn't|isnt|isn't|wasnt|wasn't|didnt|didn't|nothing like that)\b"
)
_UNSURE = re.compile(
    r"\b(?:not sure|unsure|dont know|don't know|dunno|no idea|maybe|skip|pass|cant remember|can't remember|"
    r"cant tell|can't tell|i forget)\b"
)
_YES = re.compile(
    r"\b(?:yes|yeah|yea|yep|yup|y|ya|aye|sure|definitely|it is|it was|i have|i did|i am|"
    r"a bit|a little|slightly|sort of|kind of|kinda|think so|i think|some|true|correct|"
    r"had|has|have|did|does|is|am|was)\b"
)


def read_answer(text: str) -> str | None:
    """'yeah a bit swollen' -> yes, 'nope' -> no, 'not sure' -> unsure; None if unclear.

    Unsure is checked first and no before yes: "I don't think so" is no, not "I ... think so".
    """
    lowered = text.lower().strip()
    if _UNSURE.search(lowered):
        return UNSURE
    if _NO.search(lowered):
        return NO
    if _YES.search(lowered):
        return YES
    return None


def flag_for(slot: str) -> str:
    return next(q.flag_id for q in QUESTIONS if q.slot == slot)


def result(base: KnowledgeBase) -> list[Message]:
    """No warning sign: the leg pain answer and what helps, ending with the clinician steer."""
    messages = [Message("Thank you. Here is what is known about leg pain in MS, and what may help.")]
    for entry_id in RESULT_ENTRIES:
        messages += answer(base[entry_id], base)[:-1]
    return messages + answer(base[RESULT_ENTRIES[0]], base)[-1:]
