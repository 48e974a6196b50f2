"""Simulated patients for `scripts/bench.py`: concurrent multi-turn conversations over the REST channel.

Each patient has a sender id of its own and sends its next message only after the previous
reply (a closed loop, no think time), so N patients keep at most N messages in flight. That is
how a chat widget behaves, and it makes throughput and latency answer "how many people can
write at once", not "how fast can requests be fired".
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from dataclasses import dataclass, field

import aiohttp

REST_PATH = "/webhooks/rest/webhook"
REQUEST_TIMEOUT_S = 60.0

# Three conversations, each mixing topic questions, follow-ups, a medicine question and a red
# flag; patient i follows script i % 3, repeated to the number of messages asked for. Every
# assistant under test gets exactly these messages, in this order.
SCRIPTS: tuple[tuple[str, ...], ...] = (
    (
        "hello",
        "why do my legs hurt",
        "tell me more",
        "what about my arms?",
        "what is gabapentin for",
        "my face is drooping and my arm is weak",
        "what is the ms hug",
        "thanks",
    ),
    (
        "what is the ms hug",
        "tell me more",
        "what is gabapentin for",
        "and is that one drowsy?",
        "my face is drooping and my arm is weak",
        "my feet burn at night",
        "tell me more",
        "bye",
    ),
    (
        "my feet burn at night",
        "what helps with the burning",
        "what is gabapentin for",
        "why do my legs hurt",
        "my face is drooping and my arm is weak",
        "what is spasticity",
        "tell me more",
        "thank you",
    ),
)


def conversation(patient: int, messages: int) -> list[str]:
    """The messages patient number `patient` sends: its script, repeated to `messages` long."""
    script = SCRIPTS[patient % len(SCRIPTS)]
    return [script[i % len(script)] for i in range(messages)]


@dataclass(frozen=True)
class Sample:
    """One message: how long its reply took, what went wrong, if anything, and the reply's text
    (its paragraphs joined by blank lines, as a person reads them)."""

    latency_s: float
    error: str | None = None
    reply: str = ""


@dataclass
class LoadResult:
    """Every sample of one load level, and the wall time the whole level took."""

    users: int
    messages_per_user: int
    wall_s: float
    samples: list[Sample] = field(default_factory=list)

    @property
    def sent(self) -> int:
        return len(self.samples)

    @property
    def throughput(self) -> float:
        """Messages answered (or failed) per second of wall time, all patients together."""
        return self.sent / self.wall_s if self.wall_s > 0 else 0.0

    @property
    def errors(self) -> int:
        return sum(1 for s in self.samples if s.error is not None)

    @property
    def error_kinds(self) -> dict[str, int]:
        return dict(Counter(s.error for s in self.samples if s.error is not None))

    def percentile_ms(self, p: float) -> float:
        """Nearest-rank percentile of every sample's latency, failures included (a timeout is slow)."""
        latencies = sorted(s.latency_s for s in self.samples)
        if not latencies:
            return math.nan
        rank = max(1, math.ceil(p / 100 * len(latencies)))
        return latencies[rank - 1] * 1000


def _problem(status: int, body: object) -> str | None:
    """Why a reply counts as an error: not a 200, or nothing a person would see."""
    if status != 200:
        return f"HTTP {status}"
    if not isinstance(body, list) or not any(
        isinstance(m, dict) and (m.get("text") or m.get("buttons") or m.get("image") or m.get("custom"))
        for m in body
    ):
        return "empty reply"
    return None


def _text(body: object) -> str:
    """Rasa's REST channel sends each paragraph as a message of its own; put them back together."""
    if not isinstance(body, list):
        return ""
    return "\n\n".join(m["text"] for m in body if isinstance(m, dict) and isinstance(m.get("text"), str))


async def send(session: aiohttp.ClientSession, url: str, sender: str, text: str) -> Sample:
    """One message from `sender`, timed from sending to the whole reply."""
    start = time.perf_counter()
    try:
        async with session.post(url, json={"sender": sender, "message": text}) as response:
            body = await response.json(content_type=None) if response.status == 200 else None
            return Sample(time.perf_counter() - start, _problem(response.status, body), _text(body))
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as error:
        return Sample(time.perf_counter() - start, type(error).__name__)


async def _patient(session: aiohttp.ClientSession, url: str, sender: str, messages: list[str]) -> list[Sample]:
    """One conversation: each message waits for the reply to the one before."""
    return [await send(session, url, sender, text) for text in messages]


def patients_session(users: int) -> aiohttp.ClientSession:
    """One connection per patient, as that many browsers would hold."""
    connector = aiohttp.TCPConnector(limit=users, force_close=False)
    return aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S))


async def _run(base_url: str, users: int, messages: int, run_id: str) -> LoadResult:
    url = base_url.rstrip("/") + REST_PATH
    async with patients_session(users) as session:
        start = time.perf_counter()
        per_patient = await asyncio.gather(
            *(_patient(session, url, f"bench-{run_id}-{users}-{i}", conversation(i, messages)) for i in range(users))
        )
        wall = time.perf_counter() - start
    return LoadResult(users, messages, wall, [s for samples in per_patient for s in samples])


def run_load(base_url: str, users: int, messages: int, run_id: str) -> LoadResult:
    """`users` patients at once against `base_url`, `messages` each; new sender ids every run."""
    return asyncio.run(_run(base_url, users, messages, run_id))
