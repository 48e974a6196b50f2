"""The scale-out stack, as `make test-scale` runs it: PostgreSQL, Redis, one action server, two
Rasa servers sharing them, and nginx in front. Each piece is started once for the session, on
loopback and ports of its own, and stopped at the end whatever happened, with a check that no
process of it is left and its port is closed."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Iterator
from unittest import mock

import pytest

from tests import servers
from tests_scale import services

# Below Linux's ephemeral range (32768-60999): a port in it can be held for a moment by any
# outgoing connection on the machine, and PostgreSQL then fails to bind (seen once in CI).
POSTGRES_PORT = 25432
REDIS_PORT = 26379
NGINX_PORT = 5090
RASA_PORTS = (5021, 5022)
ACTIONS_PORT = 5071
STOP_TIMEOUT = 60


def pytest_configure(config: pytest.Config) -> None:
    """SIGTERM (a CI time-out, say) ends the run like Ctrl-C, so the finalizers still stop every server."""
    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupt)


@pytest.fixture(scope="session")
def scratch() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="ms-pain-scale-"))
    # The postgres user and nginx's workers reach their own sub-folders through it.
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder)


@pytest.fixture(scope="session")
def postgres(scratch: Path, request: pytest.FixtureRequest) -> services.PostgreSQL:
    database = services.PostgreSQL(scratch / "postgres", POSTGRES_PORT)
    request.addfinalizer(database.stop)
    database.create()
    return database


@pytest.fixture(scope="session")
def redis(scratch: Path, request: pytest.FixtureRequest) -> services.Service:
    service = services.redis(scratch / "redis", REDIS_PORT)
    request.addfinalizer(service.stop)
    service.start()
    return service


@pytest.fixture(scope="session")
def rasa_servers(postgres: services.PostgreSQL, redis: services.Service, scratch: Path,
                 request: pytest.FixtureRequest) -> dict[int, subprocess.Popen]:
    """Two Rasa servers, by port, with one action server: the project's model, credentials.yml,
    and the endpoints file `make run` writes with REDIS_URL set, all on the same PostgreSQL."""
    endpoints = scratch / "endpoints.yml"
    subprocess.run([sys.executable, "-m", "stores.endpoints", "--actions-port", str(ACTIONS_PORT),
                    "--out", str(endpoints)],
                   cwd=servers.ROOT, env={**os.environ, "REDIS_URL": f"redis://127.0.0.1:{REDIS_PORT}/0"}, check=True)
    with mock.patch.dict(os.environ, {"DB_URL": postgres.url_text(), "SANIC_HOST": "127.0.0.1"}):
        start([str(servers.VENV_BIN / "rasa"), "run", "actions", "--actions", "actions", "--port", str(ACTIONS_PORT)],
              ACTIONS_PORT, "actions", servers.answers_health, request)
        # Rasa as scripts/serve.sh starts it, with the fixes in rasa_fixes/.
        return {
            port: start([sys.executable, "-m", "rasa_fixes", "run", "--model", str(servers.MODEL),
                         "--port", str(port), "--interface", "127.0.0.1",
                         "--credentials", "credentials.yml", "--endpoints", str(endpoints)],
                        port, "rasa", servers.answers_a_message, request)
            for port in RASA_PORTS
        }


def start(command: list[str], port: int, name: str, ready: Callable[[int], None],
          request: pytest.FixtureRequest) -> subprocess.Popen:
    """servers.start, with the server's stop and check registered as soon as it runs."""
    try:
        process = servers.start(command, port, name, ready)
    except RuntimeError as error:
        pytest.fail(f"{name} on port {port} did not start: {error}")
    request.addfinalizer(lambda: stop(process, port))
    return process


def stop(process: subprocess.Popen, port: int) -> None:
    servers.stop_group(process)
    deadline = time.monotonic() + STOP_TIMEOUT
    while servers.process_group_alive(process.pid):
        assert time.monotonic() < deadline, f"processes of the server on port {port} left behind"
        time.sleep(0.2)
    assert not servers.port_open(port), f"port {port} still open after its server stopped"


@pytest.fixture(scope="session")
def nginx(rasa_servers: dict[int, subprocess.Popen], scratch: Path, request: pytest.FixtureRequest) -> services.Nginx:
    balancer = services.Nginx(scratch / "nginx", NGINX_PORT, RASA_PORTS)
    request.addfinalizer(balancer.service.stop)
    balancer.service.start()
    return balancer
