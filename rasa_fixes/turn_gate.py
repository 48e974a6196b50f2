"""A few conversation turns worked on at once, the others waiting in the order they came.

Rasa starts work on every message the moment it arrives. That work is mostly Python on one event
loop, so with 20 messages in hand each gets a slice of the CPU between the others' slices, and a
turn that waits for the action server goes to the back of that queue when the answer comes: at
20 patients the slowest twentieth of replies took 1.5 times as long as the median (`make bench`).
Here a turn is worked on only in one of SLOTS slots; the others wait their turn, first come first
served. A turn that waits on another service gives its slot up while it waits, so a slow or hung
service never holds up other conversations (a red-flag warning needs none), and when its answer
comes it goes ahead of turns not yet begun: at once for Messenger's Send API, a fraction of a
second away (Chatwoot's replies are posted after the turn); after ACTION_SERVER_HOLD_S for the
action server, which is on this machine and answers in milliseconds: letting new turns in
meanwhile only lengthens its queue.
"""

from __future__ import annotations

import asyncio
import functools
from collections import deque
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, TypeVar
from weakref import WeakKeyDictionary

# Measured at 20 patients (make bench, 2026-12-02, two runs each): p95 243-246 ms with no gate;
# 191-204 ms with 2 slots, 200-225 with 3, 198-213 with 4, at the same throughput. Two: with
# fewer turns shared out, the order they came in is kept best.
SLOTS = 2
# Far longer than the action server takes when well (a few milliseconds under load), short enough
# that a hung one delays other conversations' replies by no more than this.
ACTION_SERVER_HOLD_S = 0.25

Result = TypeVar("Result")


class TurnGate:
    """SLOTS slots on one event loop. A slot given up is handed straight to the next waiter, so
    while anyone waits no slot is free, and a newcomer cannot get ahead of them."""

    def __init__(self, slots: int = SLOTS) -> None:
        self.free = slots
        self._resuming: deque[asyncio.Future[None]] = deque()
        self._new: deque[asyncio.Future[None]] = deque()

    async def enter(self, resuming: bool = False) -> None:
        """Wait for a slot; `resuming` turns (back from waiting on a service) are served first."""
        if self.free:
            self.free -= 1
            return
        waiter = asyncio.get_running_loop().create_future()
        (self._resuming if resuming else self._new).append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():  # handed a slot as it was cancelled
                self.leave()
            raise

    def leave(self) -> None:
        for queue in (self._resuming, self._new):
            while queue:
                waiter = queue.popleft()
                if not waiter.done():  # one cancelled while waiting is skipped
                    waiter.set_result(None)
                    return
        self.free += 1


@dataclass
class _Turn:
    gate: TurnGate
    holds_slot: bool = True


_gates: WeakKeyDictionary[asyncio.AbstractEventLoop, TurnGate] = WeakKeyDictionary()
_current_turn: ContextVar[_Turn | None] = ContextVar("current_turn", default=None)


def gate() -> TurnGate:
    """The running event loop's gate (a Rasa server has one loop; tests may run several)."""
    return _gates.setdefault(asyncio.get_running_loop(), TurnGate())


async def in_turn(work: Callable[[], Awaitable[Result]]) -> Result:
    """`work()`, run once this turn has a slot; the slot is given back when it ends, however."""
    turn = _Turn(gate())
    await turn.gate.enter()
    token = _current_turn.set(turn)
    try:
        return await work()
    finally:
        _current_turn.reset(token)
        if turn.holds_slot:  # not if cancelled while taking it back (waits_elsewhere)
            turn.holds_slot = False  # a task started in the turn that outlives it has no slot to give up
            turn.gate.leave()


def waits_elsewhere(request: Callable[..., Awaitable[Result]], hold_s: float = 0.0) -> Callable[..., Awaitable[Result]]:
    """`request`, a call to another service, with the current turn's slot given up while it runs,
    after `hold_s` seconds (before, if none), and taken back after it, ahead of new turns."""
    @functools.wraps(request)
    async def request_waiting_elsewhere(*args: Any, **kwargs: Any) -> Result:
        turn = _current_turn.get()
        if turn is None or not turn.holds_slot:
            return await request(*args, **kwargs)
        if hold_s:
            answer = asyncio.ensure_future(request(*args, **kwargs))
            try:
                await asyncio.wait({answer}, timeout=hold_s)
            except asyncio.CancelledError:
                answer.cancel()
                raise
            if answer.done():
                return answer.result()
            pending: Awaitable[Result] = answer
        else:
            pending = request(*args, **kwargs)
        turn.gate.leave()
        turn.holds_slot = False
        try:
            return await pending
        finally:
            await turn.gate.enter(resuming=True)
            turn.holds_slot = True

    return request_waiting_elsewhere
