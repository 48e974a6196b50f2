"""Throw-away PostgreSQL, Redis and nginx for the scale-out tests.

Each runs on loopback, on a port of its own, with its files in a temporary folder, so the
machine's own services (if it has any) are never used or touched. Every one runs in a process
group of its own, logs to results/server-logs/ beside the Rasa servers, and `stop` checks that
nothing of it is left running. PostgreSQL refuses to run as root: as root it runs as the
`postgres` system user that Debian's package creates.
"""

from __future__ import annotations

import contextlib
import glob
import grp
import json
import os
import pwd
import re
import shutil
import signal
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import sqlalchemy as sa
from sqlalchemy.engine import URL
from sqlalchemy.pool import NullPool

from tests import servers

START_TIMEOUT = 60
STOP_TIMEOUT = 60
# Where Debian's packages put them (`make test-scale` installs the packages when these are missing).
POSTGRES_BIN_DIRS = "/usr/lib/postgresql/*/bin"
REDIS_SERVER = "/usr/bin/redis-server"
NGINX = "/usr/sbin/nginx"
UPSTREAM_HEADER = "X-Upstream"


def run_as(user: str | None) -> dict[str, Any]:
    """subprocess arguments that run a command as `user` (only root can switch user)."""
    if user is None:
        return {}
    account = pwd.getpwnam(user)
    return {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}


class Service:
    """One server process: started in its own process group, stopped with its whole group."""

    def __init__(self, name: str, command: list[str], port: int, stop_signal: signal.Signals = signal.SIGTERM,
                 user: str | None = None, ready: Callable[[], bool] | None = None) -> None:
        self.name, self.command, self.port = name, command, port
        self.stop_signal, self.user = stop_signal, user
        self.ready = ready or (lambda: servers.port_open(port))
        self.log = servers.log_path(name, port)
        self.log_mode = "w"  # a run's log starts empty; a restart adds to it
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        if servers.port_open(self.port):
            raise RuntimeError(f"port {self.port} is busy: is a {self.name} of an earlier run still up?")
        servers.LOGS.mkdir(parents=True, exist_ok=True)
        with self.log.open(self.log_mode) as output:
            self.process = subprocess.Popen(self.command, stdout=output, stderr=subprocess.STDOUT,
                                            start_new_session=True, **run_as(self.user))
        self.log_mode = "a"
        deadline = time.monotonic() + START_TIMEOUT
        while not self.ready():
            if self.process.poll() is not None:
                self.process = None
                raise RuntimeError(f"{self.name} stopped while starting (log: {self.log}):\n"
                                   f"{self.log.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self.name} did not answer on port {self.port} within {START_TIMEOUT} s "
                                   f"(log: {self.log})")
            time.sleep(0.2)

    def stop(self) -> None:
        """Ask the server to stop (killed after STOP_TIMEOUT), then check its group and port are gone."""
        if self.process is None:
            return
        process, self.process = self.process, None
        process.send_signal(self.stop_signal)
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        deadline = time.monotonic() + STOP_TIMEOUT
        while servers.process_group_alive(process.pid):
            if time.monotonic() > deadline:
                os.killpg(process.pid, signal.SIGKILL)
                raise AssertionError(f"{self.name}: processes left behind after it stopped; killed")
            time.sleep(0.2)
        assert not servers.port_open(self.port), f"{self.name}: port {self.port} still open after it stopped"


def postgres_bin() -> Path:
    """The newest PostgreSQL server installed by Debian's packages."""
    found = sorted((Path(path) for path in glob.glob(POSTGRES_BIN_DIRS)), key=lambda path: int(path.parent.name))
    if not found:
        raise RuntimeError("PostgreSQL is not installed: run `make test-scale`, which installs it")
    return found[-1]


@dataclass(frozen=True)
class StoredEvent:
    type_name: str
    data: dict[str, Any]


class PostgreSQL:
    """A database cluster of its own in `folder`, with a password-protected user for Rasa."""

    USER, PASSWORD, DATABASE = "rasa", "scale-test-password", "assistant"

    def __init__(self, folder: Path, port: int) -> None:
        self.folder, self.data = folder, folder / "data"
        self.system_user = "postgres" if os.geteuid() == 0 else None
        self.url = URL.create("postgresql", username=self.USER, password=self.PASSWORD, host="127.0.0.1",
                              port=port, database=self.DATABASE)
        self.bin = postgres_bin()
        self.service = Service(
            "postgres",
            [str(self.bin / "postgres"), "-D", str(self.data), "-p", str(port),
             "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={folder}"],
            port,
            # Fast shutdown: Rasa's pooled connections are closed, as when a database server goes down.
            stop_signal=signal.SIGINT, user=self.system_user, ready=self._answers,
        )

    def create(self) -> None:
        """initdb, start, and create the database Rasa uses."""
        self.folder.mkdir(mode=0o700)
        password_file = self.folder / "password"
        password_file.write_text(self.PASSWORD)
        if self.system_user:
            for path in (self.folder, password_file):
                shutil.chown(path, user=self.system_user, group=self.system_user)
        initdb = subprocess.run(
            [str(self.bin / "initdb"), "--pgdata", str(self.data), "--username", self.USER,
             "--pwfile", str(password_file), "--auth-host", "scram-sha-256", "--auth-local", "trust",
             "--encoding", "UTF8", "--no-locale", "--no-sync"],
            cwd=self.folder, capture_output=True, text=True, **run_as(self.system_user),
        )
        password_file.unlink()
        if initdb.returncode != 0:
            raise RuntimeError(f"initdb failed:\n{initdb.stdout}{initdb.stderr}")
        self.start()
        with self._engine("postgres").connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").execute(
                sa.text(f"CREATE DATABASE {self.DATABASE}"))

    def start(self) -> None:
        self.service.start()

    def stop(self) -> None:
        self.service.stop()

    @contextlib.contextmanager
    def stopped(self) -> Iterator[None]:
        """PostgreSQL down for the block, up again after it."""
        self.stop()
        try:
            yield
        finally:
            self.start()

    def url_text(self) -> str:
        return self.url.render_as_string(hide_password=False)

    def events(self, sender: str) -> list[StoredEvent]:
        """The sender's stored events, oldest first, as Rasa's `events` table holds them."""
        query = sa.text("SELECT type_name, data FROM events WHERE sender_id = :sender ORDER BY id")
        with self._engine(self.DATABASE).connect() as connection:
            return [StoredEvent(type_name, json.loads(data))
                    for type_name, data in connection.execute(query, {"sender": sender})]

    def user_texts(self, sender: str) -> list[str]:
        return [event.data["text"] for event in self.events(sender) if event.type_name == "user"]

    def _engine(self, database: str) -> sa.engine.Engine:
        # No pool: no connection of the tests' own outlives a query, or a restart.
        return sa.create_engine(self.url.set(database=database), poolclass=NullPool)

    def _answers(self) -> bool:
        try:
            with self._engine("postgres").connect():
                return True
        except sa.exc.OperationalError:
            return False


def redis(folder: Path, port: int) -> Service:
    """Redis in memory only: it holds nothing but Rasa's conversation locks."""
    folder.mkdir()
    return Service("redis", [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(folder)], port)


@dataclass(frozen=True)
class Turn:
    reply: list[dict]
    server_port: int


class Nginx:
    """nginx balancing the Rasa servers round-robin; each reply says which server answered it."""

    def __init__(self, folder: Path, port: int, upstream_ports: tuple[int, ...]) -> None:
        folder.mkdir()
        self.port = port
        config = folder / "nginx.conf"
        config.write_text(nginx_config(folder, port, upstream_ports))
        self.service = Service("nginx", [NGINX, "-p", str(folder), "-e", "stderr", "-c", str(config)], port)

    def ask(self, sender: str, message: str) -> Turn:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/webhooks/rest/webhook",
            data=json.dumps({"sender": sender, "message": message}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=120) as response:
            return Turn(json.loads(response.read()), server_port(response.headers.get(UPSTREAM_HEADER)))


def server_port(upstream: str | None) -> int:
    """The port of the Rasa server that answered, from nginx's header ("127.0.0.1:5021")."""
    match = re.fullmatch(r"127\.0\.0\.1:(\d+)", upstream or "")
    assert match, f"nginx named no single Rasa server: {upstream!r}"
    return int(match.group(1))


def nginx_config(folder: Path, port: int, upstream_ports: tuple[int, ...]) -> str:
    servers_lines = "\n".join(f"        server 127.0.0.1:{upstream};" for upstream in upstream_ports)
    # As root, nginx's workers switch to an unprivileged user; name its group, which differs by system.
    user = f"user nobody {grp.getgrgid(pwd.getpwnam('nobody').pw_gid).gr_name};" if os.geteuid() == 0 else ""
    temp_paths = "\n".join(f"    {kind}_temp_path {folder / kind};"
                           for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return f"""{user}
daemon off;
worker_processes 1;
pid {folder / "nginx.pid"};
error_log stderr;
events {{ worker_connections 256; }}
http {{
    access_log off;
{temp_paths}
    upstream rasa {{
{servers_lines}
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://rasa;
            proxy_read_timeout 120s;
            add_header {UPSTREAM_HEADER} $upstream_addr always;
        }}
    }}
}}
"""

