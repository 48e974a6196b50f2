"""The turn gate (rasa_fixes.turn_gate): turns get their slots in the order they came, a turn back
from another service first; no slot is lost to a cancelled turn; and with the trained model, a
hung action server or Messenger Send API holds up no other conversation: a red-flag warning still
goes out."""

from __future__ import annotations

import asyncio

import pytest
from rasa.core.agent import Agent
from rasa.core.channels.channel import UserMessage
from rasa.core.processor import MessageProcessor
from rasa.utils.endpoints import EndpointConfig

import rasa_fixes
from channels import messenger_protocol
from channels.messenger import GraphSender, MessengerOutput
from rasa_fixes import turn_gate
from tests import servers

# Long enough for anything the test waits on to happen many times over on a slow machine; it
# bounds a hang, it measures nothing.
PATIENCE_S = 60


async def _entered(gate: turn_gate.TurnGate, name: str, order: list[str], resuming: bool = False) -> None:
    await gate.enter(resuming)
    order.append(name)


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def test_turns_get_the_slot_in_the_order_they_came():
    async def scenario() -> list[str]:
        gate, order = turn_gate.TurnGate(1), []
        await gate.enter()
        waiting = [asyncio.create_task(_entered(gate, f"turn {n}", order)) for n in range(4)]
        await _settle()
        for _ in waiting:
            gate.leave()
            await _settle()
        return order

    assert asyncio.run(scenario()) == ["turn 0", "turn 1", "turn 2", "turn 3"]


def test_a_turn_back_from_a_service_goes_ahead_of_new_turns():
    async def scenario() -> list[str]:
        gate, order = turn_gate.TurnGate(1), []
        await gate.enter()
        new = asyncio.create_task(_entered(gate, "new", order))
        await _settle()
        back = asyncio.create_task(_entered(gate, "back", order, resuming=True))
        await _settle()
        gate.leave()
        await _settle()
        gate.leave()
        await asyncio.gather(new, back)
        return order

    assert asyncio.run(scenario()) == ["back", "new"]


def test_a_turn_cancelled_while_waiting_or_just_as_it_got_its_slot_loses_no_slot():
    async def scenario() -> tuple[int, list[str]]:
        gate, order = turn_gate.TurnGate(1), []
        await gate.enter()
        gave_up = asyncio.create_task(_entered(gate, "gave up", order))
        handed = asyncio.create_task(_entered(gate, "handed", order))
        last = asyncio.create_task(_entered(gate, "last", order))
        await _settle()
        gave_up.cancel()
        await _settle()
        gate.leave()  # to "handed", which is cancelled before it runs: the slot must go on to "last"
        handed.cancel()
        await _settle()
        gate.leave()
        await _settle()
        return gate.free, order

    assert asyncio.run(scenario()) == (1, ["last"])


def _ask_the_action_server(agent: Agent, sender_id: str, _hung_url: str):
    """A question the action server answers; the reply is collected, not sent anywhere."""
    return agent.handle_text("what is the ms hug", sender_id=sender_id)


def _reply_on_messenger(agent: Agent, sender_id: str, hung_url: str):
    """A reply from the domain, no action needed, sent to Messenger's Send API."""
    sender = GraphSender(messenger_protocol.Settings("verify", "secret", "page-token", graph_url=hung_url))
    return agent.handle_message(UserMessage("thanks", MessengerOutput(sender), sender_id))


@pytest.mark.parametrize("stuck_turn", [_ask_the_action_server, _reply_on_messenger])
def test_a_hung_service_holds_up_no_other_conversation(monkeypatch, stuck_turn):
    monkeypatch.setattr(MessageProcessor, "handle_message", rasa_fixes.handle_message_in_turn)
    monkeypatch.setattr(EndpointConfig, "request",
                        turn_gate.waits_elsewhere(rasa_fixes._rasa_request, turn_gate.ACTION_SERVER_HOLD_S))
    stuck_count = turn_gate.SLOTS + 1

    async def scenario() -> tuple[list, list[bool], int]:
        calls, all_called, never = [], asyncio.Event(), asyncio.Event()

        async def hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            calls.append(await reader.readline())
            if len(calls) == stuck_count:
                all_called.set()
            await never.wait()

        server = await asyncio.start_server(hang, "127.0.0.1", 0)
        hung_url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        agent = Agent.load(str(servers.MODEL), action_endpoint=EndpointConfig(url=hung_url + "/webhook"))
        stuck = [asyncio.create_task(stuck_turn(agent, f"stuck-{n}", hung_url)) for n in range(stuck_count)]
        try:
            await asyncio.wait_for(all_called.wait(), PATIENCE_S)
            warning = await asyncio.wait_for(
                agent.handle_text("my face is drooping and my arm is weak", sender_id="red-flag"), PATIENCE_S)
            stuck_done = [task.done() for task in stuck]
        finally:
            for task in stuck:
                task.cancel()
            await asyncio.gather(*stuck, return_exceptions=True)
            server.close()
        return warning, stuck_done, turn_gate.gate().free

    warning, stuck_done, free_after = asyncio.run(scenario())
    assert stuck_done == [False] * stuck_count  # every one still waiting on the hung service
    assert any("stroke" in reply.get("text", "") for reply in warning), warning
    assert free_after == turn_gate.SLOTS  # the cancelled turns gave their slots back


@pytest.mark.parametrize("hold_s", [0.0, turn_gate.ACTION_SERVER_HOLD_S])
def test_outside_a_turn_a_call_is_just_the_call(hold_s):
    async def call(value: int) -> int:
        await asyncio.sleep(0)
        return value * 2

    assert asyncio.run(turn_gate.waits_elsewhere(call, hold_s)(21)) == 42
