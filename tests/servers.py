"""Helpers for tests that talk to real servers over HTTP: start, ask, stop."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "models" / "ms-pain.tar.gz"
START_TIMEOUT = 240
LOGS = ROOT / "results" / "server-logs"
VENV_BIN = Path(sys.executable).parent


def ask(sender: str, message: str, port: int = 5005) -> list[dict]:
    request = urllib.request.Request(
        f"http://localhost:{port}/webhooks/rest/webhook",
        data=json.dumps({"sender": sender, "message": message}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def texts(reply: list[dict]) -> list[str]:
    return [message.get("text", "") for message in reply]


def joined(reply: list[dict]) -> str:
    """Rasa's REST channel sends each paragraph as a message of its own; put them back together."""
    return "\n\n".join(texts(reply))


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def process_group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def children_of(pid: int) -> list[int]:
    """The process ids whose parent is `pid`, from /proc."""
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line)
        except OSError:
            continue
        if fields.get("PPid", "").strip() == str(pid):
            found.append(int(status.parent.name))
    return found


def pids_running(*arguments: str) -> list[int]:
    """The ids of the processes whose command line holds these arguments, in this order."""
    wanted = "\0".join(arguments).encode()
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if wanted in cmdline.read_bytes():
                found.append(int(cmdline.parent.name))
        except OSError:
            continue
    return found


def answers_a_message(port: int) -> None:
    """Raises OSError until the Rasa server on `port` answers a message over REST."""
    ask("warm-up", "hello", port)


def answers_health(port: int) -> None:
    """Raises OSError until the action server on `port` answers its health check."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5):
        pass


def log_path(name: str, port: int) -> Path:
    return LOGS / f"{name}-{port}.log"


def start(command: list[str], port: int, name: str | None = None,
          ready: Callable[[int], None] = answers_a_message) -> subprocess.Popen:
    """Start `command` in its own process group and wait until `ready(port)` passes (by default,
    until Rasa answers on `port`). Its output goes to `log_path(name, port)`; `name` is the
    command's last word unless given."""
    if not MODEL.exists():
        raise RuntimeError("no trained model: run `make train` (make test does it for you)")
    if port_open(port):
        raise RuntimeError(f"port {port} is busy: stop the running assistant before the tests")
    # The output goes to a file, not a pipe: nobody reads a pipe while the tests run, and a server
    # that fills one blocks on its next log line.
    LOGS.mkdir(parents=True, exist_ok=True)
    log = log_path(name or Path(command[-1]).stem, port)
    with log.open("w") as output:
        process = subprocess.Popen(
            command, cwd=ROOT, env={**os.environ, "VENV": str(VENV_BIN.parent)}, start_new_session=True,
            stdout=output, stderr=subprocess.STDOUT, text=True,
        )
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"stopped while starting (log: {log}):\n{log.read_text()[-3000:]}")
        try:
            ready(port)
            return process
        except OSError:
            if time.monotonic() > deadline:
                os.killpg(process.pid, signal.SIGKILL)
                raise RuntimeError("did not answer within the start timeout")
            time.sleep(1)


def stop_group(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
