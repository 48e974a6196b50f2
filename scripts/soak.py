"""`make soak`: our stack under steady load for minutes on end; writes reports/soak.md and soak.json.

A benchmark (`scripts/bench.py`) answers "how fast"; a soak answers "does it stay well": no
errors creep in, memory stops growing once warm, the database grows only with the conversations,
and every red flag is still warned at the tenth minute as at the first. Issue 16 asks for a
10-minute one with 0 errors and flat memory.

It starts our stack as `bench.py` does (action server and Rasa server, each in a process group of
its own, loopback only, a throw-away SQLite database, stopped at the end, on an error, on Ctrl-C
and on SIGTERM), then runs N simulated patients for D minutes against 127.0.0.1 and nothing else.
Each patient sends its script (`load_generator.SCRIPTS`) in a closed loop, under a new sender id
each time round, so conversations stay as long as real ones rather than growing without bound.

A soak measures, it is not a test: it exits 0 when the run completed, whether or not the targets
were met, and 1 if the stack could not start.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import itertools
import json
import math
import shutil
import signal
import statistics
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from subprocess import CalledProcessError, Popen
from typing import Callable, Optional

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import (  # noqa: E402
    ROOT, check_ports, commit, cpu_seconds, key_value, load_average, machine, memory, our_stack,
    stop_on_signal, verdict,
)
from load_generator import REQUEST_TIMEOUT_S, REST_PATH, SCRIPTS, LoadResult, Sample, patients_session, send  # noqa: E402

sys.path.insert(0, str(ROOT))
from pain_assistant import red_flags  # noqa: E402
from pain_assistant.red_flags import RedFlag  # noqa: E402

MAX_USERS = 200
MAX_MINUTES = 120.0
SECONDS_PER_BUCKET = 60.0
# "Flat": after the warm-up, the median resident memory of the later half of the samples is at most
# this much above that of the earlier half (the larger of the two allowances). Medians, so that one
# garbage-collection swing does not decide; halves, so that steady growth anywhere shows.
FLAT_ALLOWANCE_MIB = 8.0
FLAT_ALLOWANCE_SHARE = 0.02
MISSES_KEPT = 10


# --- what is measured --------------------------------------------------------------------------


@dataclass
class Minute:
    """One minute of the run, by when each message was sent."""

    minute: int
    requests: int
    throughput: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    errors: int
    error_kinds: dict[str, int]

    @classmethod
    def of(cls, minute: int, result: LoadResult) -> Minute:
        return cls(minute, result.sent, result.throughput, result.percentile_ms(50), result.percentile_ms(95),
                   result.percentile_ms(99), result.percentile_ms(100), result.errors, result.error_kinds)


@dataclass
class MemorySample:
    at_s: float  # since the load began
    rss_mib: dict[str, float]  # server role -> resident memory of every process in its group


@dataclass
class Trend:
    """The flat-memory rule applied to one server's samples; `flat` is None with too few samples."""

    samples: int  # after the warm-up
    earlier_mib: float
    later_mib: float
    allowance_mib: float
    flat: Optional[bool]

    @property
    def growth_mib(self) -> float:
        return self.later_mib - self.earlier_mib


def memory_trend(samples: list[tuple[float, float]], warm_up_s: float) -> Trend:
    """(seconds, MiB) samples: is memory flat after the warm-up? Needs two samples in each half."""
    kept = [mib for at_s, mib in sorted(samples) if at_s >= warm_up_s]
    half = len(kept) // 2
    if half < 2:
        return Trend(len(kept), math.nan, math.nan, math.nan, None)
    earlier, later = statistics.median(kept[:half]), statistics.median(kept[-half:])  # odd: the middle one sits out
    allowance = max(FLAT_ALLOWANCE_MIB, FLAT_ALLOWANCE_SHARE * earlier)
    return Trend(len(kept), earlier, later, allowance, later - earlier <= allowance)


def warned(reply: str, flag: RedFlag) -> bool:
    """Whether a reply holds the flag's whole warning, as the flag's file words it for the region."""
    return flag.reply in reply


@dataclass
class RedFlagTally:
    message: str
    flag: str
    sent: int = 0
    warned: int = 0


@dataclass
class Soak:
    """Everything one soak measured; `record` takes each message as its reply comes back."""

    users: int
    minutes: float
    started: float  # time.monotonic() when the load began
    flags: dict[str, RedFlag]  # script message -> the flag it raises (its most severe), for those that raise one
    buckets: list[list[Sample]] = field(default_factory=list)
    red_flags: dict[str, RedFlagTally] = field(default_factory=dict)
    misses: list[dict[str, str]] = field(default_factory=list)
    memory: list[MemorySample] = field(default_factory=list)
    wall_s: float = 0.0
    server_cpu_s: float = 0.0
    database_bytes: dict[str, dict[str, int]] = field(default_factory=dict)  # "start"/"end" -> file -> bytes
    servers_up_at_end: dict[str, bool] = field(default_factory=dict)

    def record(self, sent_at: float, message: str, sample: Sample) -> None:
        minute = int((sent_at - self.started) // SECONDS_PER_BUCKET)
        while len(self.buckets) <= minute:
            self.buckets.append([])
        self.buckets[minute].append(replace(sample, reply=""))  # replies are not kept: 10 minutes of them add up
        flag = self.flags.get(message)
        if flag is None:
            return
        tally = self.red_flags.setdefault(message, RedFlagTally(message, flag.id))
        tally.sent += 1
        if warned(sample.reply, flag):
            tally.warned += 1
        elif len(self.misses) < MISSES_KEPT:
            self.misses.append({"message": message, "flag": flag.id, "error": sample.error or "",
                                "reply": sample.reply[:200]})

    def result(self) -> LoadResult:
        # A soak sends for a time, not a number of messages each: messages_per_user is not fixed (0).
        return LoadResult(self.users, 0, self.wall_s, [s for bucket in self.buckets for s in bucket])

    def per_minute(self) -> list[Minute]:
        span_s = self.minutes * 60
        return [Minute.of(i + 1, LoadResult(self.users, 0, min(SECONDS_PER_BUCKET, span_s - i * SECONDS_PER_BUCKET),
                                            bucket))
                for i, bucket in enumerate(self.buckets)]

    def trends(self, warm_up_s: float) -> dict[str, Trend]:
        roles = sorted({role for sample in self.memory for role in sample.rss_mib})
        return {role: memory_trend([(s.at_s, s.rss_mib[role]) for s in self.memory if role in s.rss_mib], warm_up_s)
                for role in roles}


def expected_flags(detector: red_flags.RedFlagDetector) -> dict[str, RedFlag]:
    """Each script message that raises a red flag, and the flag whose warning its reply must hold."""
    found = {}
    for message in {m for script in SCRIPTS for m in script}:
        detections = detector.detect(message)
        if detections:
            found[message] = detections[0].flag
    return found


# --- the run -----------------------------------------------------------------------------------


async def _patient(session: aiohttp.ClientSession, url: str, patient: int, run_id: str, deadline: float, soak: Soak) -> None:
    """Its script again and again, a new conversation each time, until the deadline."""
    script = SCRIPTS[patient % len(SCRIPTS)]
    for loop in itertools.count():
        sender = f"soak-{run_id}-{patient}-{loop}"
        for message in script:
            if time.monotonic() >= deadline:
                return
            sent_at = time.monotonic()
            soak.record(sent_at, message, await send(session, url, sender, message))


def _memory_now(groups: dict[str, Popen], started: float) -> MemorySample:
    return MemorySample(time.monotonic() - started,
                        {role: sum(m.rss_mib for m in memory(role, p.pid)) for role, p in groups.items()})


async def _sample_memory(groups: dict[str, Popen], every_s: float, soak: Soak) -> None:
    while True:
        soak.memory.append(await asyncio.to_thread(_memory_now, groups, soak.started))
        await asyncio.sleep(every_s)


async def _soak(url: str, groups: dict[str, Popen], soak: Soak, every_s: float, run_id: str) -> None:
    deadline = soak.started + soak.minutes * 60
    sampler = asyncio.create_task(_sample_memory(groups, every_s, soak))
    try:
        async with patients_session(soak.users) as session:
            await asyncio.gather(*(_patient(session, url + REST_PATH, i, run_id, deadline, soak)
                                   for i in range(soak.users)))
    finally:
        sampler.cancel()
    soak.wall_s = time.monotonic() - soak.started
    soak.memory.append(_memory_now(groups, soak.started))


def database_bytes(database: Path) -> dict[str, int]:
    """The SQLite file and its write-ahead log (WAL mode: recent turns sit in the log until a checkpoint)."""
    files = [database, database.with_name(database.name + "-wal")]
    return {f.name: f.stat().st_size if f.exists() else 0 for f in files}


class StackDidNotStart(Exception):
    pass


def run(args: argparse.Namespace, tmp: Path, logs: Path, run_id: str) -> Soak:
    """Start the stack, soak it, stop it."""
    flags = expected_flags(red_flags.load(region="us"))
    with ExitStack() as running:
        try:
            stack = running.enter_context(our_stack(args, tmp, logs))
        except (RuntimeError, CalledProcessError) as error:
            raise StackDidNotStart(str(error)) from error
        print(f"  first answer {stack.first_answer_s:.1f} s after start; {args.users} patients for "
              f"{args.minutes:g} min against {stack.url} ...", flush=True)
        soak = Soak(args.users, args.minutes, time.monotonic(), flags)
        soak.database_bytes["start"] = database_bytes(stack.database)
        cpu_before = sum(cpu_seconds(p.pid) for p in stack.groups.values())
        asyncio.run(_soak(stack.url, stack.groups, soak, args.sample_seconds, run_id))
        soak.server_cpu_s = sum(cpu_seconds(p.pid) for p in stack.groups.values()) - cpu_before
        soak.database_bytes["end"] = database_bytes(stack.database)
        soak.servers_up_at_end = {role: p.poll() is None for role, p in stack.groups.items()}
    return soak


# --- the report --------------------------------------------------------------------------------


def verdicts(soak: Soak, warm_up_s: float) -> list[tuple[str, str, Optional[bool]]]:
    """(target, measured, passed); passed is None where the run was too short to tell."""
    result = soak.result()
    kinds = ", ".join(f"{kind}: {count}" for kind, count in result.error_kinds.items())
    sent = sum(t.sent for t in soak.red_flags.values())
    warned_count = sum(t.warned for t in soak.red_flags.values())
    rows = [("0 errors", f"{result.errors} of {result.sent}" + (f" ({kinds})" if kinds else ""), result.errors == 0),
            ("every red flag warned", f"{warned_count} of {sent}", warned_count == sent if sent else None)]
    for role, trend in soak.trends(warm_up_s).items():
        measured = ("too few samples after the warm-up" if trend.flat is None else
                    f"{trend.earlier_mib:.0f} -> {trend.later_mib:.0f} MiB ({trend.growth_mib:+.1f}, "
                    f"allowed {trend.allowance_mib:.0f})")
        rows.append((f"{role} memory flat", measured, trend.flat))
    down = [role for role, up in soak.servers_up_at_end.items() if not up]
    rows.append(("servers still running at the end", "all" if not down else f"stopped: {', '.join(down)}", not down))
    return rows


def _ms(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.0f}"


def write_report(args: argparse.Namespace, info: dict[str, object], soak: Soak, out: Path) -> Path:
    warm_up_s = args.warm_up_minutes * 60
    result = soak.result()
    cpu_ms = 1000 * soak.server_cpu_s / result.sent if result.sent else math.nan
    start, end = soak.database_bytes.get("start", {}), soak.database_bytes.get("end", {})
    growth = (sum(end.values()) - sum(start.values())) / 1024 / 1024
    lines = [
        "# Soak: the MS pain assistant under steady load",
        "",
        f"Written by `make soak` (`scripts/soak.py`). Commit {info['commit']}, {info['date']}.",
        f"Machine: {info['machine']['cpu']}, {info['machine']['cores']} cores, {info['machine']['memory']} memory, "
        f"{info['machine']['os']}, Python {info['machine']['python']}. Load average before the run "
        f"{info['load_before']}, after {info['load_after']} (other work on the machine makes the numbers noisier).",
        f"Options: `{info['argv']}`.",
        "",
        "## Verdicts",
        "",
        "| target | measured | result |",
        "| --- | --- | --- |",
        *(f"| {target} | {measured} | {verdict(ok)} |" for target, measured, ok in verdicts(soak, warm_up_s)),
        "",
        "## What was run",
        "",
        f"Our stack as `make run` starts it (action server, then the Rasa server with `rasa_fixes`, conversations "
        f"in a SQLite database of its own in a temporary folder), on ports {args.port} and {args.actions_port}, "
        f"loopback only. {soak.users} simulated patients for {soak.minutes:g} min, over the REST channel "
        f"(`POST http://127.0.0.1:{args.port}{REST_PATH}`). Each patient sends its script (below) in a closed loop, "
        f"the next message only after the reply to the last, a new sender id each time round. An error is a "
        f"non-200, an exception (timeout {REQUEST_TIMEOUT_S:.0f} s) or a reply with nothing in it. A red flag counts as warned "
        f"when the reply holds that flag's whole warning (`pain_assistant.red_flags.load(region=\"us\")`). "
        f"Percentiles are nearest-rank, failures included.",
        "",
        "## Figures",
        "",
        "| requests | msg/s | p50 ms | p95 ms | p99 ms | max ms | errors | server CPU ms/msg |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        f"| {result.sent} | {result.throughput:.1f} | {_ms(result.percentile_ms(50))} | "
        f"{_ms(result.percentile_ms(95))} | {_ms(result.percentile_ms(99))} | {_ms(result.percentile_ms(100))} | "
        f"{result.errors} | {_ms(cpu_ms)} |",
        "",
        f"Database: {', '.join(f'{name} {size / 1024 / 1024:.1f} MiB' for name, size in start.items())} when the "
        f"load began; {', '.join(f'{name} {size / 1024 / 1024:.1f} MiB' for name, size in end.items())} at the end: "
        f"{growth:+.1f} MiB, {growth / (soak.wall_s / 60) if soak.wall_s else math.nan:.1f} MiB a minute.",
        "",
        "## Each minute",
        "",
        "By when each message was sent. The first minute holds the servers' own warm-up (TensorFlow traces its "
        "graphs on the first calls, the conversation cache fills).",
        "",
        "| minute | requests | msg/s | p50 ms | p95 ms | p99 ms | max ms | errors |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for m in soak.per_minute():
        kinds = f" ({', '.join(f'{k}: {v}' for k, v in m.error_kinds.items())})" if m.errors else ""
        lines.append(f"| {m.minute} | {m.requests} | {m.throughput:.1f} | {_ms(m.p50_ms)} | {_ms(m.p95_ms)} | "
                     f"{_ms(m.p99_ms)} | {_ms(m.max_ms)} | {m.errors}{kinds} |")
    roles = sorted({role for sample in soak.memory for role in sample.rss_mib})
    lines += [
        "",
        "## Memory",
        "",
        f"Resident memory (RSS) of every process in each server's process group, every {args.sample_seconds:g} s "
        f"and at the end. Flat: leaving out the first {args.warm_up_minutes:g} min (warm-up: models load, caches "
        f"fill), the median of the later half of the samples is at most the larger of {FLAT_ALLOWANCE_MIB:g} MiB "
        f"and {FLAT_ALLOWANCE_SHARE:.0%} above the median of the earlier half (with an odd count the middle sample "
        f"sits out; fewer than four samples: not judged).",
        "",
        "| s | " + " | ".join(f"{role} MiB" for role in roles) + " |",
        "| ---: | " + " | ".join("---:" for _ in roles) + " |",
        *(f"| {s.at_s:.0f} | " + " | ".join(f"{s.rss_mib.get(role, math.nan):.1f}" for role in roles) + " |"
          for s in soak.memory),
        "",
        "## Red flags",
        "",
        "| message | flag | sent | warned |",
        "| --- | --- | ---: | ---: |",
        *(f"| {t.message} | {t.flag} | {t.sent} | {t.warned} |" for t in soak.red_flags.values()),
    ]
    if soak.misses:
        lines += ["", f"Not warned (the first {MISSES_KEPT} at most):", ""]
        lines += [f"- \"{m['message']}\" ({m['flag']}){' ' + m['error'] if m['error'] else ''}: "
                  f"\"{m['reply']}\"" for m in soak.misses]
    lines += ["", "## The conversations", "", "Patient *i* follows script *i* mod 3 (`scripts/load_generator.py`).", ""]
    lines += [f"{i + 1}. " + " / ".join(f"\"{m}\"" for m in script) for i, script in enumerate(SCRIPTS)]
    path = out / "soak.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def write_json(args: argparse.Namespace, info: dict[str, object], soak: Soak, out: Path) -> Path:
    warm_up_s = args.warm_up_minutes * 60
    result = soak.result()
    summary = {"requests": result.sent, "throughput": result.throughput, "errors": result.errors,
               "error_kinds": result.error_kinds,
               **{f"p{p}_ms": result.percentile_ms(p) for p in (50, 95, 99, 100)},
               "server_cpu_s": soak.server_cpu_s, "wall_s": soak.wall_s}
    document = {
        "info": info,
        "options": {"users": soak.users, "minutes": soak.minutes, "port": args.port,
                    "actions_port": args.actions_port, "sample_seconds": args.sample_seconds,
                    "warm_up_minutes": args.warm_up_minutes, "model": str(args.model)},
        "verdicts": [{"target": t, "measured": m, "passed": ok} for t, m, ok in verdicts(soak, warm_up_s)],
        "summary": summary,
        "per_minute": [asdict(m) for m in soak.per_minute()],
        "memory": [asdict(s) for s in soak.memory],
        "memory_trends": {role: {**asdict(t), "growth_mib": t.growth_mib} for role, t in soak.trends(warm_up_s).items()},
        "red_flags": [asdict(t) for t in soak.red_flags.values()],
        "red_flag_misses": soak.misses,
        "database_bytes": soak.database_bytes,
        "servers_up_at_end": soak.servers_up_at_end,
    }
    path = out / "soak.json"
    # NaN (a percentile of no samples, a trend not judged) becomes null: JSON has no NaN.
    path.write_text(json.dumps(_nan_to_none(document), indent=2, default=str))
    return path


def _nan_to_none(value: object) -> object:
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _nan_to_none(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_nan_to_none(v) for v in value]
    return value


# --- main --------------------------------------------------------------------------------------


def _bounded(kind: Callable[[str], float], low: float, high: float) -> Callable[[str], float]:
    """An argparse type that refuses values outside [low, high]: a soak is bounded in patients and time."""

    def parse(text: str) -> float:
        value = kind(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"give a value from {low:g} to {high:g}")
        return value
    return parse


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "ms-pain.tar.gz", help="the model to serve")
    parser.add_argument("--out", type=Path, default=ROOT / "reports", help="where soak.md and soak.json go")
    parser.add_argument("--users", type=_bounded(int, 1, MAX_USERS), default=10, help="simulated patients at once")
    parser.add_argument("--minutes", type=_bounded(float, 0.1, MAX_MINUTES), default=10.0, help="how long the load runs")
    parser.add_argument("--sample-seconds", type=_bounded(float, 1, 600), default=30.0,
                        help="how often the servers' memory is read")
    parser.add_argument("--warm-up-minutes", type=_bounded(float, 0, MAX_MINUTES), default=2.0,
                        help="memory samples before this are left out of the flat-memory verdict")
    parser.add_argument("--port", type=int, default=5305, help="our Rasa server")
    parser.add_argument("--actions-port", type=int, default=5355, help="our action server")
    parser.add_argument("--server-env", type=key_value, action="append", default=[], metavar="KEY=VALUE",
                        help="extra environment for our servers, e.g. SANIC_WORKERS=2 (with a lock store)")
    parser.add_argument("--extra-endpoints",
                        help="YAML whose top-level keys replace those of our endpoints file, e.g. another tracker store")
    args = parser.parse_args(argv)
    check_ports(parser, [args.port, args.actions_port])
    if not args.model.exists():
        parser.error(f"no model at {args.model}: run `make train` first")
    args.model = args.model.resolve()
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, stop_on_signal)
    signal.signal(signal.SIGHUP, stop_on_signal)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    logs = out / "soak-logs"
    logs.mkdir(exist_ok=True)
    info: dict[str, object] = {"commit": commit(), "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
                               "machine": machine(), "load_before": load_average(),
                               "argv": " ".join(["scripts/soak.py", *argv])}
    print(f"Soaking our assistant ({args.model.name}) on port {args.port} ...", flush=True)
    with ExitStack() as cleanup:
        tmp = Path(tempfile.mkdtemp(prefix="ms-pain-soak-"))
        cleanup.callback(shutil.rmtree, tmp, ignore_errors=True)
        try:
            soak = run(args, tmp, logs, uuid.uuid4().hex[:8])
        except StackDidNotStart as error:
            print(f"soak: our stack could not start, nothing was measured: {error}", file=sys.stderr)
            return 1
    info["load_after"] = load_average()
    report = write_report(args, info, soak, out)
    write_json(args, info, soak, out)
    print(f"\nWrote {report} (and soak.json).")
    for target, measured, ok in verdicts(soak, args.warm_up_minutes * 60):
        print(f"  {target}: {measured}  {verdict(ok).strip('*')}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
