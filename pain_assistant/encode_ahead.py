"""A message's sentence vectors, computed before Rasa reads it, off the event loop, in batches.

Rasa runs the NLU pipeline on the server's one event loop, so every millisecond the encoder spends
there is a millisecond no other conversation moves. The encoder (`pain_assistant.encoder`) is
also cheaper per message in a batch: its weights are read from memory once for all the texts
(about 11 ms for one short message, 4 ms each for four). So the channels' input guard hands each
message's text here before passing the message on (`prepare`): the texts of all the messages that
arrive while one batch runs go through the encoder together in a worker thread (TensorFlow releases
Python's lock while it computes), and the vectors wait in a small store until the pipeline's
featurizer takes them (`take`). A message the guard did not prepare (a tool, a test, a message
whose vectors were pushed out of the store) is encoded by the featurizer as before: this only
moves work, it never decides anything. If encoding here fails, the featurizer tries again and, if
that fails too, the red-flag lexicon decides alone.

Each message is encoded whole and sentence by sentence, the readings the red-flag classifier
judges (`red_flag_classifier.readings`), so a long message costs one batch, not two encoder calls.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import OrderedDict
from typing import Callable, Sequence

import numpy as np

from pain_assistant import encoder
from pain_assistant.normalise import normalise
from pain_assistant.red_flag_classifier import readings

logger = logging.getLogger(__name__)

# Messages prepared but not yet taken; more than the server has in flight at once.
CAPACITY = 512
# A message waits at most this long for its batch; then it goes on, and the pipeline encodes it.
WAIT_S = 2.0

Encode = Callable[[Sequence[str]], np.ndarray]


class EncodeAhead:
    def __init__(self, encode: Encode, capacity: int = CAPACITY, wait_s: float = WAIT_S) -> None:
        self._encode = encode
        self._capacity = capacity
        self._wait_s = wait_s
        # Text -> the vectors prepared for each message with that text ("hello" may come from
        # several conversations at once), oldest text first.
        self._ready: OrderedDict[str, list[np.ndarray]] = OrderedDict()
        self._count = 0
        self._lock = threading.Lock()  # `take` runs on the event loop, tests may call from threads
        self._waiting: list[tuple[list[str], asyncio.Future]] = []
        self._worker: asyncio.Task | None = None

    async def prepare(self, normalised_text: str) -> None:
        """Encode the message (its whole text and its pieces) in the next batch, and keep the
        vectors for `take`. Returns when they are ready, when encoding failed (logged), or after
        `wait_s` at most: a stuck batch must not hold a message (and its red-flag warning) back."""
        if not normalised_text:
            return
        texts = readings(normalised_text)
        done: asyncio.Future = asyncio.get_running_loop().create_future()
        self._waiting.append((texts, done))
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._encode_waiting())
        try:
            vectors = await asyncio.wait_for(asyncio.shield(done), self._wait_s)
        except asyncio.TimeoutError:
            logger.warning("Encoding ahead took over %.1f s; the message goes on without waiting.", self._wait_s)
            return
        if vectors is not None:
            self._keep(normalised_text, vectors)

    def take(self, normalised_text: str) -> np.ndarray | None:
        """Vectors prepared for a message with this text (whole first, then its pieces), each set
        once; None if there are none."""
        with self._lock:
            prepared = self._ready.get(normalised_text)
            if not prepared:
                return None
            vectors = prepared.pop(0)
            if not prepared:
                del self._ready[normalised_text]
            self._count -= 1
            return vectors

    def _keep(self, text: str, vectors: np.ndarray) -> None:
        """Keep the vectors, dropping the oldest texts' beyond the capacity."""
        with self._lock:
            self._ready.setdefault(text, []).append(vectors)
            self._count += 1
            while self._count > self._capacity:
                _, dropped = self._ready.popitem(last=False)
                self._count -= len(dropped)

    async def _encode_waiting(self) -> None:
        """Encode everything waiting in one batch, then whatever arrived meanwhile, until none is left."""
        while self._waiting:
            batch, self._waiting = self._waiting, []
            texts = [text for texts, _ in batch for text in texts]
            try:
                vectors = await asyncio.to_thread(self._encode, texts)
            except Exception:  # noqa: BLE001 - the featurizer encodes again; nothing here may fail a message
                logger.exception("Encoding %d messages ahead failed; the pipeline encodes them itself.", len(batch))
                vectors = None
            at = 0
            for message_texts, done in batch:
                if not done.cancelled():
                    done.set_result(None if vectors is None else vectors[at:at + len(message_texts)])
                at += len(message_texts)


_ahead = EncodeAhead(encoder.encode)


async def prepare(text: str) -> None:
    """Encode a message's text ahead, if this process has loaded the encoder (a model is loaded):
    a process without a model has nothing to prepare for."""
    if encoder.is_loaded():
        await _ahead.prepare(normalise(text))


def take(normalised_text: str) -> np.ndarray | None:
    return _ahead.take(normalised_text)
