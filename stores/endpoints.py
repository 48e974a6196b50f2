"""The endpoints file the servers start with: endpoints.yml, adjusted from the environment.

    python -m stores.endpoints --actions-port 5055 --out build/endpoints.yml

Rasa's own `${VAR}` substitution fails on an unset variable, so optional settings (the Redis
lock store) are added here instead, and so is the lock store for one server (stores/lock_store.py).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "endpoints.yml"
LOCK_STORE = "stores.lock_store.AtomicRedisLockStore"
IN_MEMORY_LOCK_STORE = "stores.lock_store.WakingInMemoryLockStore"


def endpoints(actions_port: int, redis_url: str | None, source: Path = SOURCE) -> dict[str, Any]:
    config = yaml.safe_load(source.read_text())
    config["action_endpoint"]["url"] = f"http://localhost:{actions_port}/webhook"
    config["lock_store"] = redis_lock_store(redis_url) if redis_url else {"type": IN_MEMORY_LOCK_STORE}
    return config


def redis_lock_store(redis_url: str) -> dict[str, Any]:
    """Redis lock store settings from a redis://[:password@]host[:port][/db] URL: Rasa's own,
    made safe for several servers (stores/lock_store.py)."""
    parts = urlsplit(redis_url)
    if parts.scheme not in ("redis", "rediss") or not parts.hostname:
        raise ValueError(f"REDIS_URL must look like redis://host:6379/0, not {redis_url!r}")
    store: dict[str, Any] = {"type": LOCK_STORE, "url": parts.hostname, "port": parts.port or 6379,
                             "db": int(parts.path.strip("/") or 0), "use_ssl": parts.scheme == "rediss"}
    if parts.password:
        store["password"] = parts.password
    return store


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--actions-port", type=int, default=5055)
    parser.add_argument("--out", type=Path, required=True)
    arguments = parser.parse_args(argv)
    try:
        config = endpoints(arguments.actions_port, os.environ.get("REDIS_URL"))
    except ValueError as error:
        parser.error(str(error))
    arguments.out.parent.mkdir(parents=True, exist_ok=True)
    arguments.out.write_text(yaml.safe_dump(config, sort_keys=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
