"""The soak's own judgements (`scripts/soak.py`): when memory counts as flat, which replies count as
warned, and how messages fall into minutes. The soak itself runs the real servers (`make soak`)."""

from __future__ import annotations

import sys

import pytest

from pain_assistant import red_flags
from tests import servers

sys.path.insert(0, str(servers.ROOT / "scripts"))
from load_generator import SCRIPTS, Sample  # noqa: E402
from soak import FLAT_ALLOWANCE_MIB, Soak, expected_flags, memory_trend, warned  # noqa: E402

DETECTOR = red_flags.load(region="us")
STROKE = DETECTOR.get("stroke")
STROKE_MESSAGE = "my face is drooping and my arm is weak"
WARM_UP_S = 120.0


def every_30_s(values: list[float]) -> list[tuple[float, float]]:
    return [(30.0 * i, value) for i, value in enumerate(values)]


def test_memory_that_levels_off_after_the_warm_up_is_flat():
    samples = every_30_s([300, 450, 560, 590, 600, 601, 603, 600, 602, 604, 601, 603])
    trend = memory_trend(samples, WARM_UP_S)
    assert trend.flat is True
    assert trend.samples == 8  # the four warm-up samples are left out


def test_memory_that_keeps_growing_is_not_flat():
    samples = every_30_s([600 + 10 * i for i in range(20)])  # 20 MiB a minute
    trend = memory_trend(samples, WARM_UP_S)
    assert trend.flat is False
    assert trend.growth_mib == pytest.approx(80)


def test_one_spike_in_the_later_half_does_not_decide():
    samples = every_30_s([600] * 10 + [600, 900, 600, 600])
    assert memory_trend(samples, WARM_UP_S).flat is True


def test_the_allowance_grows_with_the_process():
    small = memory_trend(every_30_s([100] * 8 + [100 + FLAT_ALLOWANCE_MIB + 1] * 4), 0)
    large = memory_trend(every_30_s([1000] * 8 + [1000 + FLAT_ALLOWANCE_MIB + 1] * 4), 0)
    assert small.flat is False and large.flat is True


def test_too_few_samples_after_the_warm_up_are_not_judged():
    trend = memory_trend(every_30_s([600, 700, 800, 900, 1000, 1100, 1200]), WARM_UP_S)
    assert trend.samples == 3
    assert trend.flat is None


def test_the_scripts_red_flag_is_expected_to_get_the_stroke_warning_and_nothing_else_is():
    flags = expected_flags(DETECTOR)
    assert {message: flag.id for message, flag in flags.items()} == {STROKE_MESSAGE: "stroke"}
    assert all(STROKE_MESSAGE in script for script in SCRIPTS)


def test_only_a_reply_with_the_whole_warning_counts_as_warned():
    assert warned("Hello.\n\n" + STROKE.reply + "\n\nAsk your MS team.", STROKE)
    assert not warned(STROKE.reply[: len(STROKE.reply) // 2], STROKE)
    assert not warned("", STROKE)


def test_messages_fall_into_the_minute_they_were_sent_in_and_red_flags_are_tallied():
    soak = Soak(users=2, minutes=1.5, started=1000.0, flags=expected_flags(DETECTOR))
    soak.record(1000.5, "hello", Sample(0.1, None, "Hi, I can help with MS pain."))
    soak.record(1059.9, STROKE_MESSAGE, Sample(0.2, None, STROKE.reply))
    soak.record(1060.0, STROKE_MESSAGE, Sample(0.3, "empty reply", ""))
    soak.record(1075.0, "hello", Sample(60.0, "TimeoutError"))

    first, second = soak.per_minute()
    assert (first.minute, first.requests, first.errors) == (1, 2, 0)
    assert (second.requests, second.errors, second.error_kinds) == (2, 2, {"empty reply": 1, "TimeoutError": 1})
    assert second.throughput == pytest.approx(2 / 30)  # the last half minute is half a minute long
    assert all(sample.reply == "" for bucket in soak.buckets for sample in bucket)
    tally = soak.red_flags[STROKE_MESSAGE]
    assert (tally.flag, tally.sent, tally.warned) == ("stroke", 2, 1)
    assert soak.misses == [{"message": STROKE_MESSAGE, "flag": "stroke", "error": "empty reply", "reply": ""}]
