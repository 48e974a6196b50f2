"""Encoding ahead (`pain_assistant.encode_ahead`) with the real encoder: messages that arrive
together share one encoder call, each gets exactly its own vectors once, and a failing encoder
fails no message."""

from __future__ import annotations

import asyncio
import threading
import time

import numpy as np
import pytest

from pain_assistant import encoder
from pain_assistant.encode_ahead import EncodeAhead
from pain_assistant.red_flag_classifier import readings

MESSAGES = [
    "my feet burn at night",
    "My legs ache at night. I want to end it all. The physio helps though.",
    "what is gabapentin for",
    "my face is drooping and my arm is weak",
]


@pytest.fixture(autouse=True, scope="module")
def loaded_encoder():
    """Loaded before any test, as the server loads it with the model: loading takes seconds."""
    encoder.encoder()


class Recording:
    """The real encoder, noting how many texts each call got."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    def __call__(self, texts):
        self.calls.append(len(texts))
        return encoder.encode(texts)


async def prepare_together(ahead: EncodeAhead, messages: list[str]) -> None:
    await asyncio.gather(*(ahead.prepare(message) for message in messages))


def test_messages_that_arrive_together_are_encoded_in_one_batch_each_getting_its_own_readings():
    recording = Recording()
    ahead = EncodeAhead(recording)
    asyncio.run(prepare_together(ahead, MESSAGES))

    assert recording.calls == [sum(len(readings(message)) for message in MESSAGES)]
    for message in MESSAGES:
        vectors = ahead.take(message)
        assert np.abs(vectors - encoder.encode(readings(message))).max() < 1e-5
        assert ahead.take(message) is None  # once


def test_only_the_newest_prepared_messages_are_kept():
    ahead = EncodeAhead(encoder.encode, capacity=2)
    asyncio.run(prepare_together(ahead, MESSAGES[:1]))
    asyncio.run(prepare_together(ahead, MESSAGES[1:3]))

    assert ahead.take(MESSAGES[0]) is None
    assert ahead.take(MESSAGES[1]) is not None and ahead.take(MESSAGES[2]) is not None


def test_a_failing_encoder_leaves_nothing_prepared_and_fails_no_message(caplog):
    def failing(texts):
        raise RuntimeError("out of memory")

    ahead = EncodeAhead(failing)
    asyncio.run(prepare_together(ahead, MESSAGES))

    assert all(ahead.take(message) is None for message in MESSAGES)
    assert "Encoding 4 messages ahead failed" in caplog.text


def test_nothing_to_encode_for_an_empty_text():
    recording = Recording()
    ahead = EncodeAhead(recording)
    asyncio.run(ahead.prepare(""))
    assert recording.calls == []


def test_the_same_text_from_several_conversations_at_once_is_prepared_for_each():
    recording = Recording()
    ahead = EncodeAhead(recording)
    asyncio.run(prepare_together(ahead, ["hello"] * 3))

    assert recording.calls == [3]
    assert [ahead.take("hello") is not None for _ in range(4)] == [True, True, True, False]


def test_a_stuck_encoder_holds_no_message_back(caplog):
    release = threading.Event()

    def stuck(texts):
        release.wait(10)
        return encoder.encode(texts)

    ahead = EncodeAhead(stuck, wait_s=0.2)

    async def prepare_and_time() -> float:
        started = time.perf_counter()
        await ahead.prepare(MESSAGES[0])
        return time.perf_counter() - started

    try:
        waited = asyncio.run(prepare_and_time())
    finally:
        release.set()
    assert waited < 5 and ahead.take(MESSAGES[0]) is None
    assert "goes on without waiting" in caplog.text
