"""`make bench`: load-test the running assistant against a stock `rasa init` one; write reports/bench.md.

What it does, in this order, so that one heavy job never runs beside another and skews it:
1. Trains our model into a temporary folder with the Makefile's arguments (cold: `--force` and
   an empty cache), and trains a stock `rasa init` assistant in another: time and model size.
2. Starts our stack as `make run` does (action server, then Rasa server, each in a process group
   of its own) on ports that do not collide with `make run` or `make test`, times the first
   answer, warms it up, and runs the load generator (`scripts/load_generator.py`) at each
   concurrency; reads each server process's peak memory and CPU time; stops the stack.
3. The same for the stock assistant (no action server), with the same messages.
4. Writes `bench.md`, `bench.png` (p95 and throughput against concurrency) and `bench.json`.

Every server is stopped at the end, on an error, on Ctrl-C and on SIGTERM; a server whose
parent dies without cleaning up gets SIGTERM from the kernel (PR_SET_PDEATHSIG).

Benchmarks are not tests: it exits 0 when the run completed, whether or not targets were met.
"""

from __future__ import annotations

import argparse
import ctypes
import datetime as dt
import json
import os
import platform
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterator, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load_generator import SCRIPTS, LoadResult, run_load  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
RASA = str(VENV_BIN / "rasa")
# The Makefile's training arguments (TRAIN_ARGS), relative to the repository root.
TRAIN_ARGS = ["--domain", "build/domain", "--data", "data", "build/data", "--config", "config.yml"]
# `make run` and `make test` use these; a benchmark beside them must not.
RESERVED_PORTS = {5005, 5055, 5006, 5007, 5057, 8080}
START_TIMEOUT_S = 300.0
STOP_TIMEOUT_S = 20.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

# The targets, at this concurrency.
TARGET_USERS = 20
TARGET_THROUGHPUT_RATIO = 2.0
TARGET_P95_MS = 300.0
TARGET_TRAINING_S = 60.0
TARGET_FIRST_ANSWER_S = 20.0


# --- what was measured -------------------------------------------------------------------------


@dataclass
class Training:
    seconds: Optional[float]  # None when not timed: see `note`
    model_bytes: int
    model: str
    note: str = ""


@dataclass
class Level:
    """One concurrency level: the load generator's numbers plus the servers' CPU time."""

    users: int
    messages: int
    wall_s: float
    throughput: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    errors: int
    error_kinds: dict[str, int]
    server_cpu_s: float
    client_cpu_s: float  # the load generator shares the machine's cores with the servers

    @classmethod
    def of(cls, result: LoadResult, cpu_s: float, client_cpu_s: float) -> Level:
        return cls(
            users=result.users,
            messages=result.sent,
            wall_s=result.wall_s,
            throughput=result.throughput,
            p50_ms=result.percentile_ms(50),
            p95_ms=result.percentile_ms(95),
            p99_ms=result.percentile_ms(99),
            max_ms=result.percentile_ms(100),
            errors=result.errors,
            error_kinds=result.error_kinds,
            server_cpu_s=cpu_s,
            client_cpu_s=client_cpu_s,
        )

    @property
    def cpu_ms_per_message(self) -> float:
        return 1000 * self.server_cpu_s / self.messages if self.messages else float("nan")

    @property
    def client_cpu_ms_per_message(self) -> float:
        return 1000 * self.client_cpu_s / self.messages if self.messages else float("nan")


@dataclass
class ProcessMemory:
    role: str
    pid: int
    command: str
    peak_mib: float  # VmHWM: the most resident memory the process ever had
    rss_mib: float  # VmRSS when read, after the load


@dataclass
class Assistant:
    name: str
    training: Optional[Training] = None
    served_model: str = ""
    served_model_bytes: int = 0
    first_answer_s: Optional[float] = None
    levels: list[Level] = field(default_factory=list)
    memory: list[ProcessMemory] = field(default_factory=list)

    def level(self, users: int) -> Optional[Level]:
        return next((lv for lv in self.levels if lv.users == users), None)


# --- processes ---------------------------------------------------------------------------------


def _die_with_parent() -> None:
    """Runs in the child before exec: SIGTERM it if the benchmark dies without stopping it."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def port_busy(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def start(command: list[str], cwd: Path, env: dict[str, str], log: Path) -> subprocess.Popen:
    """Start `command` in a new session (so its own process group), output to `log`."""
    with log.open("wb") as out:
        return subprocess.Popen(
            command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, preexec_fn=_die_with_parent,
        )


def stop(process: subprocess.Popen) -> None:
    """SIGTERM the whole process group, SIGKILL it if it is still there after a while."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        pass
    deadline = time.monotonic() + 2
    while group_members(process.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if group_members(process.pid):  # something in the group ignored SIGTERM
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    process.wait()


def _stat_fields(pid: int) -> list[str]:
    """/proc/<pid>/stat after the command name (which may hold spaces): field 3 onwards."""
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2:].split()


def group_members(pgid: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int(_stat_fields(int(entry.name))[2]) == pgid:  # field 5: process group
                    members.append(int(entry.name))
            except (OSError, ValueError, IndexError):
                continue
    return members


def cpu_seconds(pgid: int) -> float:
    """User + system CPU time of every live process in the group, all threads included."""
    total = 0
    for pid in group_members(pgid):
        try:
            fields = _stat_fields(pid)
            total += int(fields[11]) + int(fields[12])  # fields 14 and 15: utime, stime
        except (OSError, ValueError, IndexError):
            continue
    return total / CLOCK_TICKS


def memory(role: str, pgid: int) -> list[ProcessMemory]:
    found = []
    for pid in group_members(pgid):
        try:
            status = dict(
                line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line
            )
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
        except OSError:
            continue
        kib = lambda key: int(status.get(key, "0 kB").split()[0])  # noqa: E731
        found.append(ProcessMemory(role, pid, command[:120], kib("VmHWM") / 1024, kib("VmRSS") / 1024))
    return found


def first_answer(url: str, processes: list[subprocess.Popen], started: float, logs: list[Path]) -> float:
    """Seconds from `started` to the first non-empty reply to "hello"; fails if a server dies."""
    request = json.dumps({"sender": f"bench-first-{uuid.uuid4().hex[:8]}", "message": "hello"}).encode()
    while True:
        for process, log in zip(processes, logs):
            if process.poll() is not None:
                raise RuntimeError(f"{' '.join(process.args[:3])} stopped while starting; see {log}:\n{_tail(log)}")
        if time.monotonic() - started > START_TIMEOUT_S:
            raise RuntimeError(f"no answer from {url} within {START_TIMEOUT_S:.0f} s; see {', '.join(map(str, logs))}")
        try:
            post = urllib.request.Request(
                url + "/webhooks/rest/webhook", data=request, headers={"Content-Type": "application/json"}
            )
            with urllib.request.urlopen(post, timeout=30) as response:
                if response.status == 200 and json.loads(response.read()):
                    return time.monotonic() - started
        except (OSError, ValueError):
            pass
        time.sleep(0.2)


def _tail(log: Path, lines: int = 25) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


# --- training ----------------------------------------------------------------------------------


def _rasa_env(cache: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Telemetry off; Rasa's training cache in our temporary folder, so nothing is reused from or
    written to the project's .rasa/cache."""
    return {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "RASA_CACHE_DIRECTORY": str(cache), **(extra or {})}


def _timed(command: list[str], cwd: Path, env: dict[str, str], log: Path) -> float:
    started = time.monotonic()
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True, preexec_fn=_die_with_parent)
        try:
            code = process.wait()
        except BaseException:
            stop(process)
            raise
    if code != 0:
        raise RuntimeError(f"{' '.join(command[:3])} failed (exit {code}); see {log}:\n{_tail(log)}")
    return time.monotonic() - started


def train_ours(tmp: Path, logs: Path) -> Training:
    """`make train`'s command, cold, into a temporary folder: the model in models/ is not touched."""
    if not (ROOT / "build" / ".rendered").exists():
        raise RuntimeError("build/ is not rendered: run `make bench` (or `make train`) rather than this script alone")
    out = tmp / "ours-model"
    command = [RASA, "train", "--force", "--fixed-model-name", "ms-pain", "--out", str(out), *TRAIN_ARGS]
    print("Training our model (cold) ...", flush=True)
    seconds = _timed(command, ROOT, _rasa_env(tmp / "ours-cache"), logs / "train-ours.log")
    model = out / "ms-pain.tar.gz"
    return Training(seconds, model.stat().st_size, str(model))


def stock_project(project: Path, tmp: Path, logs: Path) -> Training:
    """A `rasa init --no-prompt` assistant in `project` (init trains it), or the one already there."""
    existing = sorted((project / "models").glob("*.tar.gz"))
    if existing:
        print(f"Reusing the stock assistant in {project}", flush=True)
        return Training(None, existing[-1].stat().st_size, str(existing[-1]), "reused from --stock-dir, not timed")
    print("Creating and training the stock `rasa init` assistant ...", flush=True)
    project.mkdir(parents=True, exist_ok=True)  # `rasa init --no-prompt` wants it to exist
    seconds = _timed([RASA, "init", "--no-prompt", "--init-dir", str(project)], project.parent,
                     _rasa_env(tmp / "stock-cache"), logs / "train-stock.log")
    model = sorted((project / "models").glob("*.tar.gz"))[-1]
    return Training(seconds, model.stat().st_size, str(model))


def _own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --- load --------------------------------------------------------------------------------------


def load_levels(name: str, url: str, groups: dict[str, subprocess.Popen], users: list[int], messages: int,
                run_id: str) -> list[Level]:
    """Warm up (TensorFlow traces its graphs on the first calls), then each concurrency in turn."""
    warm = run_load(url, len(SCRIPTS), max(len(s) for s in SCRIPTS), f"{run_id}-warm")
    if warm.errors:
        print(f"  {name}: warm-up had {warm.errors} errors: {warm.error_kinds}", flush=True)
    levels = []
    for n in users:
        cpu_before, client_before = sum(cpu_seconds(p.pid) for p in groups.values()), _own_cpu_seconds()
        result = run_load(url, n, messages, run_id)
        cpu = sum(cpu_seconds(p.pid) for p in groups.values()) - cpu_before
        level = Level.of(result, cpu, _own_cpu_seconds() - client_before)
        levels.append(level)
        print(f"  {name}: {n:>3} users  {level.throughput:6.1f} msg/s  p50 {level.p50_ms:6.0f} ms  "
              f"p95 {level.p95_ms:6.0f} ms  p99 {level.p99_ms:6.0f} ms  errors {level.errors}"
              f"  server CPU {level.cpu_ms_per_message:.0f} ms/msg", flush=True)
    return levels


def our_endpoints(args: argparse.Namespace, tmp: Path, env: dict[str, str]) -> Path:
    """The endpoints file `make run` would make (`stores.endpoints`: our action server's port, the
    conversation store, Redis as lock store if REDIS_URL is set), plus --extra-endpoints on top."""
    path = tmp / "endpoints.yml"
    subprocess.run([sys.executable, "-m", "stores.endpoints", "--actions-port", str(args.actions_port),
                    "--out", str(path)], cwd=ROOT, env=env, check=True)
    if args.extra_endpoints:
        import yaml

        config = yaml.safe_load(path.read_text())
        config.update(yaml.safe_load(Path(args.extra_endpoints).read_text()) or {})
        path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@dataclass
class Stack:
    """Our servers, started and answering."""

    url: str
    groups: dict[str, subprocess.Popen]  # role -> the process leading that server's process group
    first_answer_s: float
    database: Path  # the throw-away SQLite file the conversations go to


@contextmanager
def our_stack(args: argparse.Namespace, tmp: Path, logs: Path) -> Iterator[Stack]:
    """Our action server and Rasa server as `make run` starts them, on `args`' ports, loopback only;
    stopped on leaving. Raises RuntimeError if either stops or does not answer while starting."""
    # Conversations go to a throw-away SQLite file, never to var/ or a DB_URL from the environment.
    database = tmp / "conversations.db"
    env = _rasa_env(tmp / "serve-cache", {"DB_URL": f"sqlite:///{database}", **dict(args.server_env)})
    endpoints = our_endpoints(args, tmp, env)
    with ExitStack() as running:
        started = time.monotonic()
        action_log, rasa_log = logs / "ours-actions.log", logs / "ours-rasa.log"
        actions = start([RASA, "run", "actions", "--actions", "actions", "--port", str(args.actions_port)],
                        ROOT, {**env, "SANIC_HOST": "127.0.0.1"}, action_log)
        running.callback(stop, actions)
        rasa = start([sys.executable, "-m", "rasa_fixes", "run", "--model", str(args.model), "--port", str(args.port),
                      "--interface", "127.0.0.1",
                      "--credentials", "credentials.yml", "--endpoints", str(endpoints)], ROOT, env, rasa_log)
        running.callback(stop, rasa)
        url = f"http://127.0.0.1:{args.port}"
        first = first_answer(url, [actions, rasa], started, [action_log, rasa_log])
        yield Stack(url, {"action server": actions, "Rasa server": rasa}, first, database)


def bench_ours(args: argparse.Namespace, tmp: Path, logs: Path, assistant: Assistant, run_id: str) -> None:
    with our_stack(args, tmp, logs) as stack:
        assistant.first_answer_s = stack.first_answer_s
        print(f"  ours: first answer {assistant.first_answer_s:.1f} s after start", flush=True)
        assistant.levels = load_levels("ours", stack.url, stack.groups, args.users, args.messages, run_id)
        assistant.memory = [m for role, p in stack.groups.items() for m in memory(role, p.pid)]


def bench_stock(args: argparse.Namespace, project: Path, tmp: Path, logs: Path, assistant: Assistant,
                run_id: str) -> None:
    env = _rasa_env(tmp / "stock-serve-cache")
    with ExitStack() as running:
        started = time.monotonic()
        log = logs / "stock-rasa.log"
        rasa = start([RASA, "run", "--model", "models", "--port", str(args.stock_port), "--interface", "127.0.0.1",
                      "--credentials", "credentials.yml", "--endpoints", "endpoints.yml"], project, env, log)
        running.callback(stop, rasa)
        url = f"http://localhost:{args.stock_port}"
        assistant.first_answer_s = first_answer(url, [rasa], started, [log])
        print(f"  stock: first answer {assistant.first_answer_s:.1f} s after start", flush=True)
        groups = {"Rasa server": rasa}
        assistant.levels = load_levels("stock", url, groups, args.users, args.messages, run_id)
        assistant.memory = [m for role, p in groups.items() for m in memory(role, p.pid)]


# --- the report --------------------------------------------------------------------------------


def machine() -> dict[str, str]:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or "unknown")
    mem_kib = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal"))
    return {"cpu": cpu, "cores": str(os.cpu_count()), "memory": f"{mem_kib / 1024 / 1024:.1f} GiB",
            "os": f"{platform.system()} {platform.release()}", "python": platform.python_version()}


def commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    sha = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--untracked-files=no")
    return f"{sha} (plus uncommitted changes)" if dirty else sha


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _fmt(value: Optional[float], unit: str = "", digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}{unit}"


def _mib(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MiB"


def verdict(ok: Optional[bool]) -> str:
    return "not measured" if ok is None else ("**pass**" if ok else "**FAIL**")


def targets(ours: Assistant, stock: Optional[Assistant]) -> list[tuple[str, str, Optional[bool]]]:
    """(target, measured, passed) for each of the issue's targets; passed is None if not measured."""
    rows: list[tuple[str, str, Optional[bool]]] = []
    ours_level = ours.level(TARGET_USERS)
    stock_level = stock.level(TARGET_USERS) if stock else None
    if ours_level and stock_level and stock_level.throughput > 0:
        ratio = ours_level.throughput / stock_level.throughput
        rows.append((f"throughput at {TARGET_USERS} users >= {TARGET_THROUGHPUT_RATIO:g}x stock",
                     f"{ratio:.2f}x ({ours_level.throughput:.1f} vs {stock_level.throughput:.1f} msg/s)",
                     ratio >= TARGET_THROUGHPUT_RATIO))
    else:
        rows.append((f"throughput at {TARGET_USERS} users >= {TARGET_THROUGHPUT_RATIO:g}x stock", "n/a", None))
    rows.append((f"p95 at {TARGET_USERS} users <= {TARGET_P95_MS:.0f} ms",
                 _fmt(ours_level.p95_ms if ours_level else None, " ms", 0),
                 ours_level.p95_ms <= TARGET_P95_MS if ours_level else None))
    rows.append((f"errors at {TARGET_USERS} users = 0", str(ours_level.errors) if ours_level else "n/a",
                 ours_level.errors == 0 if ours_level else None))
    seconds = ours.training.seconds if ours.training else None
    rows.append((f"training <= {TARGET_TRAINING_S:.0f} s", _fmt(seconds, " s"),
                 seconds <= TARGET_TRAINING_S if seconds is not None else None))
    rows.append((f"first answer <= {TARGET_FIRST_ANSWER_S:.0f} s after start", _fmt(ours.first_answer_s, " s"),
                 ours.first_answer_s <= TARGET_FIRST_ANSWER_S if ours.first_answer_s is not None else None))
    return rows


def plot(ours: Assistant, stock: Optional[Assistant], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (latency, throughput) = plt.subplots(1, 2, figsize=(10, 4))
    for assistant, style in ((ours, "o-"), (stock, "s--")):
        if assistant is None or not assistant.levels:
            continue
        users = [lv.users for lv in assistant.levels]
        latency.plot(users, [lv.p95_ms for lv in assistant.levels], style, label=assistant.name)
        throughput.plot(users, [lv.throughput for lv in assistant.levels], style, label=assistant.name)
    latency.axhline(TARGET_P95_MS, color="grey", linewidth=0.8, linestyle=":", label=f"target {TARGET_P95_MS:.0f} ms")
    for axis, title, unit in ((latency, "p95 latency", "ms"), (throughput, "throughput", "messages/s")):
        axis.set_xscale("log")
        axis.set_xticks(sorted({lv.users for lv in ours.levels}))
        axis.get_xaxis().set_major_formatter(matplotlib.ticker.ScalarFormatter())
        axis.set_xlabel("concurrent patients")
        axis.set_ylabel(unit)
        axis.set_title(title)
        axis.set_ylim(bottom=0)
        axis.grid(True, alpha=0.3)
        axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def write_report(args: argparse.Namespace, info: dict[str, object], ours: Assistant, stock: Optional[Assistant],
                 out: Path) -> Path:
    assistants = [a for a in (ours, stock) if a is not None]
    lines = [
        "# Load benchmark: MS pain assistant vs a stock `rasa init` assistant",
        "",
        f"Written by `make bench` (`scripts/bench.py`). Commit {info['commit']}, {info['date']}.",
        f"Machine: {info['machine']['cpu']}, {info['machine']['cores']} cores, {info['machine']['memory']} memory, "
        f"{info['machine']['os']}, Python {info['machine']['python']}. Load average before the run "
        f"{info['load_before']}, after {info['load_after']} (other work on the machine makes the numbers noisier).",
        f"Whole run: {info['elapsed_s'] / 60:.1f} min. Options: `{info['argv']}`.",
        "",
        "## Targets (issue 5)",
        "",
        "| target | measured | result |",
        "| --- | --- | --- |",
        *(f"| {target} | {measured} | {verdict(ok)} |" for target, measured, ok in targets(ours, stock)),
        "",
        "## Load",
        "",
        f"Each simulated patient holds its own conversation (its own sender id) and sends its next message "
        f"only after the reply to the last one: {args.messages} messages each, over the REST channel "
        f"(`POST /webhooks/rest/webhook`). Latency is from sending to the whole reply; an error is a "
        f"non-200, an exception or a reply with nothing in it. Percentiles are nearest-rank over every message, "
        f"failures included. Server CPU is the user+system time of the server processes (action server "
        f"included) during the level, per message: less sensitive to other work on the machine than wall time; "
        f"client CPU is the load generator's own, on the same cores. "
        f"Each assistant was warmed up with {len(SCRIPTS)} conversations first. Our servers keep "
        f"conversations as `make run` does (`endpoints.yml` through `stores.endpoints`), in a temporary "
        f"SQLite database; the stock one keeps them in memory, Rasa's default.",
        "",
        "![p95 latency and throughput against concurrency](bench.png)",
        "",
        "| assistant | patients | messages | msg/s | p50 ms | p95 ms | p99 ms | max ms | errors | server CPU ms/msg | client CPU ms/msg |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for assistant in assistants:
        for lv in assistant.levels:
            kinds = f" ({', '.join(f'{k}: {v}' for k, v in lv.error_kinds.items())})" if lv.errors else ""
            lines.append(f"| {assistant.name} | {lv.users} | {lv.messages} | {lv.throughput:.1f} | {lv.p50_ms:.0f} | "
                         f"{lv.p95_ms:.0f} | {lv.p99_ms:.0f} | {lv.max_ms:.0f} | {lv.errors}{kinds} | "
                         f"{lv.cpu_ms_per_message:.0f} | {lv.client_cpu_ms_per_message:.0f} |")
    if stock is not None and stock.levels:
        lines += ["", "Ours relative to stock, at each concurrency (throughput: higher is better; p95: lower is better):",
                  "", "| patients | throughput ours/stock | p95 ours/stock |", "| ---: | ---: | ---: |"]
        for lv in ours.levels:
            base = stock.level(lv.users)
            if base:
                lines.append(f"| {lv.users} | {lv.throughput / base.throughput:.2f}x | {lv.p95_ms / base.p95_ms:.2f}x |")
    lines += ["", "## Training and start", "",
              "| assistant | training | model size | first answer after start |", "| --- | ---: | ---: | ---: |"]
    for assistant in assistants:
        t = assistant.training
        training = "not run" if t is None else (t.note if t.seconds is None else f"{t.seconds:.1f} s")
        size = _mib(t.model_bytes) if t else "n/a"
        served = f" (served: {_mib(assistant.served_model_bytes)})" if assistant.served_model_bytes and (
            t is None or t.model_bytes != assistant.served_model_bytes) else ""
        lines.append(f"| {assistant.name} | {training} | {size}{served} | {_fmt(assistant.first_answer_s, ' s')} |")
    lines += ["",
              "Training: ours is `rasa train --force` with the Makefile's arguments into a temporary folder "
              "with an empty cache, as on a fresh clone; stock is the whole `rasa init --no-prompt` "
              "(it copies the example project, then trains it with Rasa's default pipeline and policies). "
              "First answer: from starting the servers (for ours, the action server and the Rasa server "
              "together, as `make run` does) to the first non-empty reply to \"hello\".",
              "", "## Memory", "", "Peak resident memory (VmHWM) of every process in each server's process group, "
              "read after the load, and the resident memory then.", "",
              "| assistant | process | peak | after the load |", "| --- | --- | ---: | ---: |"]
    for assistant in assistants:
        for m in assistant.memory:
            lines.append(f"| {assistant.name} | {m.role} (pid {m.pid}) | {m.peak_mib:.0f} MiB | {m.rss_mib:.0f} MiB |")
    lines += ["", "## The conversations", "",
              "Patient *i* follows script *i* mod 3, repeated to the message count; both assistants get the "
              "same messages (the stock one answers them with its moods, which is fine for load). The stock "
              "assistant is trained afresh each run, without a fixed seed, so which messages it leaves without a "
              "reply (counted as its errors) changes from run to run, and with it its throughput a little.", ""]
    for i, script in enumerate(SCRIPTS):
        lines.append(f"{i + 1}. " + " / ".join(f"\"{m}\"" for m in script))
    path = out / "bench.md"
    path.write_text("\n".join(lines) + "\n")
    return path


# --- main --------------------------------------------------------------------------------------


def _users(text: str) -> list[int]:
    values = [int(part) for part in text.split(",") if part.strip()]
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError("give positive numbers, comma-separated, like 1,5,20,50")
    return values


def key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError("give KEY=VALUE")
    return key, value


def check_ports(parser: argparse.ArgumentParser, ports: list[int]) -> None:
    """Stops with a message if a port is `make run`'s or `make test`'s, already taken, or given twice."""
    for port in ports:
        if port in RESERVED_PORTS:
            parser.error(f"port {port} is used by `make run` and `make test`: choose another")
        if port_busy(port):
            parser.error(f"port {port} is already in use: stop what is on it or choose another port")
    if len(set(ports)) != len(ports):
        parser.error("the ports must differ")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "ms-pain.tar.gz", help="our model to serve")
    parser.add_argument("--out", type=Path, default=ROOT / "reports", help="where bench.md, .png and .json go")
    parser.add_argument("--users", type=_users, default=[1, 5, 20, 50], help="concurrency levels")
    parser.add_argument("--messages", type=int, default=20,
                        help="messages each patient sends (longer conversations cost more per message: "
                             "Rasa reloads the whole conversation for each one)")
    parser.add_argument("--skip-stock", action="store_true", help="no stock assistant (and no ratios)")
    parser.add_argument("--skip-training", action="store_true",
                        help="do not time training our model (the stock one is still trained: it must be served)")
    parser.add_argument("--stock-dir", type=Path,
                        help="keep the stock project here and reuse its model next time (default: a temporary folder)")
    parser.add_argument("--port", type=int, default=5105, help="our Rasa server")
    parser.add_argument("--actions-port", type=int, default=5155, help="our action server")
    parser.add_argument("--stock-port", type=int, default=5205, help="the stock Rasa server")
    parser.add_argument("--server-env", type=key_value, action="append", default=[], metavar="KEY=VALUE",
                        help="extra environment for our servers, e.g. SANIC_WORKERS=2 (with a lock store)")
    parser.add_argument("--extra-endpoints",
                        help="YAML whose top-level keys replace those of our endpoints file, e.g. another tracker store")
    args = parser.parse_args(argv)
    if args.messages < 1:
        parser.error("--messages must be at least 1")
    check_ports(parser, [args.port, args.actions_port] + ([] if args.skip_stock else [args.stock_port]))
    if not args.model.exists():
        parser.error(f"no model at {args.model}: run `make train` first")
    args.model = args.model.resolve()
    return args


def stop_on_signal(signum: int, _frame: object) -> None:
    """SIGTERM/SIGHUP unwind like Ctrl-C, so every `finally` stops its servers."""
    raise SystemExit(128 + signum)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, stop_on_signal)
    signal.signal(signal.SIGHUP, stop_on_signal)
    began = time.monotonic()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    logs = out / "bench-logs"
    logs.mkdir(exist_ok=True)
    run_id = uuid.uuid4().hex[:8]
    info: dict[str, object] = {"commit": commit(), "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
                               "machine": machine(), "load_before": load_average(),
                               "argv": " ".join(["scripts/bench.py", *argv])}
    ours = Assistant("ours", served_model=str(args.model), served_model_bytes=args.model.stat().st_size)
    stock = None if args.skip_stock else Assistant("stock")
    tmp = Path(tempfile.mkdtemp(prefix="ms-pain-bench-"))
    try:
        if not args.skip_training:
            ours.training = train_ours(tmp, logs)
            print(f"  ours: trained in {ours.training.seconds:.1f} s, {_mib(ours.training.model_bytes)}", flush=True)
        else:
            ours.training = Training(None, ours.served_model_bytes, str(args.model), "not timed (--skip-training)")
        project = (args.stock_dir.resolve() if args.stock_dir else tmp / "stock" / "project")
        if stock is not None:
            stock.training = stock_project(project, tmp, logs)
            stock.served_model, stock.served_model_bytes = stock.training.model, stock.training.model_bytes
            print(f"  stock: trained in {_fmt(stock.training.seconds, ' s')}, {_mib(stock.training.model_bytes)}",
                  flush=True)
        print(f"Benchmarking ours ({args.model.name}) on port {args.port} ...", flush=True)
        bench_ours(args, tmp, logs, ours, run_id)
        if stock is not None:
            print(f"Benchmarking the stock assistant on port {args.stock_port} ...", flush=True)
            bench_stock(args, project, tmp, logs, stock, run_id)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    info["load_after"] = load_average()
    info["elapsed_s"] = time.monotonic() - began
    plot(ours, stock, out / "bench.png")
    report = write_report(args, info, ours, stock, out)
    (out / "bench.json").write_text(json.dumps(
        {"info": info, "ours": asdict(ours), "stock": asdict(stock) if stock else None}, indent=2, default=str))
    print(f"\nWrote {report} (and bench.png, bench.json) in {info['elapsed_s'] / 60:.1f} min.")
    for target, measured, ok in targets(ours, stock):
        print(f"  {target}: {measured}  {verdict(ok).strip('*')}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
