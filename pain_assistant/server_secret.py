"""The deployment's one secret, from which every key the servers need is derived.

Signed web chat session ids and the keyed hashes of sender ids must be the same on every Rasa
server of a deployment and across restarts, or people lose their conversations. So they come from
one secret: `ASSISTANT_SECRET` in the environment (at least 32 characters; set the same value on
every server), or else a random one made on first use and kept in `var/secret.key`, readable by
its owner only, which is what `make run` on one machine uses.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from functools import lru_cache
from pathlib import Path

from pain_assistant.knowledge import PROJECT_ROOT

SECRET_VARIABLE = "ASSISTANT_SECRET"
SECRET_FILE = PROJECT_ROOT / "var" / "secret.key"
MIN_SECRET_CHARACTERS = 32


class SecretError(RuntimeError):
    """The secret cannot be had; the message says what to do."""


def read_or_create(path: Path = SECRET_FILE) -> bytes:
    """The secret kept in `path`, made (random, owner-only) if there is none yet."""
    try:
        return _checked(path.read_bytes().strip(), str(path))
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_hex(32).encode()
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return _checked(path.read_bytes().strip(), str(path))
    with os.fdopen(descriptor, "wb") as file:
        file.write(secret)
    return secret


def _checked(secret: bytes, where: str) -> bytes:
    if len(secret) < MIN_SECRET_CHARACTERS:
        raise SecretError(f"The secret in {where} is shorter than {MIN_SECRET_CHARACTERS} characters: "
                          f"set a longer one (python3 -c 'import secrets; print(secrets.token_hex(32))').")
    return secret


@lru_cache(maxsize=1)
def secret() -> bytes:
    from_environment = os.environ.get(SECRET_VARIABLE, "").strip()
    if from_environment:
        return _checked(from_environment.encode(), SECRET_VARIABLE)
    return read_or_create()


def derived_key(purpose: str) -> bytes:
    """A key for one purpose ("webchat-session", "sender-id"...): knowing one tells nothing of another."""
    return hmac.new(secret(), purpose.encode(), hashlib.sha256).digest()
