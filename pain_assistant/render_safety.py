"""Write the Rasa domain and rules for red flags from `knowledge/red_flags.yml`, for one region.

Red-flag replies must go out even when the action server is down, so they are Rasa responses
chosen by rules, not actions. Their wording lives with the flags, and the emergency numbers with
the region, so this renders both into `build/` before training:
- `build/domain/`: the project's `domain.yml`, with the region's numbers in the opening disclaimer
  and the helpline reply, plus `safety.yml` (the `red_flag` and
  `red_flag_check` intents, the `red_flag` entity and slot, the `red_flag_mention` entity and
  slot (the words a warning quotes), one `utter_red_flag_<id>` per flag,
  the two check-in questions `utter_red_flag_check_<kind>` with their buttons);
- `build/data/safety_rules.yml`: per flag, one rule for intent `red_flag` with that flag in the
  slot (the warning) and one for `red_flag_check` (a flag suspected, not certain: the check-in
  question of its kind); and, for every form in the domain, the same again ending the form, so a
  red flag mid-form is answered like anywhere else. The answer to a check-in question is decided
  by `pain_assistant.check_in_policy`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from pain_assistant import red_flags
from pain_assistant.knowledge import PROJECT_ROOT
from pain_assistant.validation import KnowledgeError

RED_FLAG_INTENT = "red_flag"
RED_FLAG_ENTITY = "red_flag"
RED_FLAG_SLOT = "red_flag"
CHECK_INTENT = "red_flag_check"
# The words that raised a flag (entity and slot), quoted by the warning; "" when not quotable.
MENTION = "red_flag_mention"
NOT_SURE_INTENT = "not_sure"  # sent only by the check-in questions' buttons (domain.yml)
# Each check-in question's buttons; what follows each answer is `pain_assistant.check_in_policy`'s:
# "No" answers the question held back.
CHECK_BUTTONS = {
    "crisis": (("Yes", "/affirm"), ("No", "/deny"), ("Not sure", f"/{NOT_SURE_INTENT}")),
    "now": (("Yes, now", "/affirm"), ("No, it was in the past", "/deny"), ("Not sure", f"/{NOT_SURE_INTENT}")),
}


# The domain's replies that name whom to call, filled in for the region: the opening disclaimer
# must name the emergency number (an "emergency" reply), the helpline reply must not (None).
REGIONAL_RESPONSES = {"utter_disclaimer": "emergency", "utter_human_handoff": None}
REQUIRED_IN_RESPONSE = {"utter_human_handoff": "helpline"}


def response_name(flag_id: str) -> str:
    return f"utter_red_flag_{flag_id}"


def check_response_name(kind: str) -> str:
    return f"utter_red_flag_check_{kind}"


CHECK_RESPONSES = frozenset(map(check_response_name, red_flags.CHECKS))


def warned_flag(action_name: str) -> str | None:
    """The flag whose warning an action sends (`utter_red_flag_<id>`), or None for any other
    action, a check-in question included."""
    prefix = response_name("")
    if not action_name.startswith(prefix) or action_name in CHECK_RESPONSES:
        return None
    return action_name[len(prefix):]


def warning_response(flag: red_flags.RedFlag) -> list[dict]:
    """The flag's reply, quoting the words that raised it when there are some to quote. The plain
    reply comes first: the channels' early warnings, sent before Rasa's turn, take the first. A
    crisis reply never quotes: saying someone's words about ending their life back to them reads
    cold; the reply itself names what it answers."""
    plain = {"text": flag.reply}
    if flag.severity == "crisis":
        return [plain]
    unquotable = [{**plain, "condition": [{"type": "slot", "name": MENTION, "value": value}]} for value in ("", None)]
    return unquotable + [{"text": f"You wrote “{{{MENTION}}}”. {flag.reply}"}]


def repeats_warning(text: str | None, warning: str) -> bool:
    """Whether a reply is that warning again, with or without the words it quotes (the channels'
    early warnings send the plain one; the turn after may send the quoting one)."""
    return text is not None and (text == warning or text.endswith(" " + warning))


def check_response(kind: str, text: str) -> list[dict]:
    buttons = [{"title": title, "payload": payload} for title, payload in CHECK_BUTTONS[kind]]
    return [{"text": text, "buttons": buttons}]


def safety_domain(detector: red_flags.RedFlagDetector) -> dict:
    return {
        "version": "3.1",
        "intents": [RED_FLAG_INTENT, CHECK_INTENT],
        "entities": [RED_FLAG_ENTITY, MENTION],
        "slots": {
            RED_FLAG_SLOT: {
                "type": "categorical",
                "values": [flag.id for flag in detector.flags],
                "influence_conversation": True,
                "mappings": [{"type": "from_entity", "entity": RED_FLAG_ENTITY}],
            },
            MENTION: {"type": "text", "influence_conversation": False, "mappings": [{"type": "from_entity", "entity": MENTION}]},
        },
        "responses": {
            **{response_name(flag.id): warning_response(flag) for flag in detector.flags},
            **{check_response_name(kind): check_response(kind, text) for kind, text in detector.checks.items()},
        },
    }


def safety_rules(detector: red_flags.RedFlagDetector, forms: list[str]) -> dict:
    # (name, intent, flag, response): a flag found gets its warning, a flag suspected its check.
    replies = [("red flag", RED_FLAG_INTENT, flag, response_name(flag.id)) for flag in detector.flags]
    replies += [("red flag check", CHECK_INTENT, flag, check_response_name(flag.check)) for flag in detector.flags]

    def steps(intent: str, flag: red_flags.RedFlag, response: str) -> list[dict]:
        return [{"intent": intent}, {"slot_was_set": [{RED_FLAG_SLOT: flag.id}]}, {"action": response}]

    rules = [
        {"rule": f"{name}: {flag.id}", "steps": steps(intent, flag, response)} for name, intent, flag, response in replies
    ]
    rules += [
        {
            "rule": f"{name} during {form}: {flag.id}",
            "condition": [{"active_loop": form}],
            "steps": steps(intent, flag, response) + [{"action": "action_deactivate_loop"}, {"active_loop": None}],
        }
        for name, intent, flag, response in replies
        for form in forms
    ]
    return {"version": "3.1", "rules": rules}


def regional_domain(domain: dict, numbers: dict[str, str], path: Path) -> dict:
    """The domain with the region's numbers in the replies that name whom to call
    (`REGIONAL_RESPONSES`), each checked to name (or not) the emergency number."""
    problems: list[str] = []
    responses = dict(domain.get("responses") or {})
    for name, severity in REGIONAL_RESPONSES.items():
        variations = responses.get(name)
        if not isinstance(variations, list) or not variations:
            problems.append(f"responses: {name} is missing")
            continue
        responses[name] = [
            {**variation, "text": red_flags.render_reply(variation.get("text"), numbers, f"responses: {name}", problems,
                                                         severity, REQUIRED_IN_RESPONSE.get(name))}
            for variation in variations
        ]
    if problems:
        raise KnowledgeError(path, problems)
    return {**domain, "responses": responses}


def rendered_domain(region: str, domain_file: Path = PROJECT_ROOT / "domain.yml") -> dict:
    """The project's domain with the region's numbers filled in, as `render` writes it."""
    domain = yaml.safe_load(domain_file.read_text(encoding="utf-8"))
    return regional_domain(domain, red_flags.load_region(red_flags.DEFAULT_REGIONS_FILE, region), domain_file)


def render(region: str, out: Path, domain_file: Path = PROJECT_ROOT / "domain.yml") -> None:
    detector = red_flags.load(region=region)
    domain = rendered_domain(region, domain_file)
    (out / "domain").mkdir(parents=True, exist_ok=True)
    (out / "data").mkdir(parents=True, exist_ok=True)
    header = f"# Generated by pain_assistant.render_safety for region '{region}'; edit knowledge/red_flags.yml instead.\n"
    domain_header = f"# Generated by pain_assistant.render_safety for region '{region}' from domain.yml; edit that instead.\n"
    (out / "domain" / "domain.yml").write_text(
        domain_header + yaml.safe_dump(domain, sort_keys=False, allow_unicode=True, width=100))
    for path, document in (
        (out / "domain" / "safety.yml", safety_domain(detector)),
        (out / "data" / "safety_rules.yml", safety_rules(detector, list(domain.get("forms") or {}))),
    ):
        path.write_text(header + yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--region", default="us")
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "build")
    args = parser.parse_args(argv)
    try:
        render(args.region, args.out)
    except KnowledgeError as error:
        print(error, file=sys.stderr)
        return 1
    print(f"Rendered red-flag responses and rules for region '{args.region}' into {args.out}/")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
