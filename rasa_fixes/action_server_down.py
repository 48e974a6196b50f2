"""A custom action whose server is down, hung or failing: the person is told, within seconds.

Rasa 3.6 waits up to 5 minutes for the action server, and when a call fails it logs the error and
sends nothing: the person gets an empty reply and no word of what happened, and the conversation's
lock is held all the while. Here an action call that has not answered within ACTION_TIMEOUT_S, or
that fails, is given up and the person gets UNAVAILABLE_RESPONSE instead: try again in a minute,
and who to call if they need help now. Red-flag warnings never reach this: they are responses in
the domain, sent by Rasa itself (safety rule 2).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from rasa.core.actions.action import ActionExecutionRejection, RemoteAction, create_bot_utterance
from rasa.shared.core.events import Event
from rasa.shared.exceptions import RasaException

logger = logging.getLogger(__name__)

# Far longer than any of our actions takes (milliseconds, a few hundred at most under load),
# short enough that a person is not left waiting.
ACTION_TIMEOUT_S = 5.0
UNAVAILABLE_RESPONSE = "utter_cannot_answer_now"

_rasa_run = RemoteAction.run


async def run_or_say_so(action: RemoteAction, output_channel: Any, nlg: Any, tracker: Any, domain: Any) -> list[Event]:
    """What `RemoteAction.run` returns; if the action server fails or takes longer than
    ACTION_TIMEOUT_S, the domain's UNAVAILABLE_RESPONSE instead. A rejection (the action's own
    way to say it does not apply) goes on to Rasa as before."""
    try:
        return await asyncio.wait_for(_rasa_run(action, output_channel, nlg, tracker, domain), ACTION_TIMEOUT_S)
    except ActionExecutionRejection:
        raise
    except (RasaException, asyncio.TimeoutError) as error:
        logger.error("The action server did not run %s (%s): the person is told to try again",
                     action.name(), type(error).__name__ if isinstance(error, asyncio.TimeoutError) else error)
    message = await nlg.generate(UNAVAILABLE_RESPONSE, tracker, output_channel.name())
    return [create_bot_utterance(message)] if message else []


def apply() -> None:
    RemoteAction.run = run_or_say_so
