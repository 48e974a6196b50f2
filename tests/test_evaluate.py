"""The evaluation report keeps working: `scripts/evaluate.py --quick` on a small slice.

`make eval` takes minutes (it trains five models); this runs the part without Rasa, on one
safety set, in a few seconds, and checks the report holds real figures, not just headings.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from pain_assistant import red_flags
from pain_assistant.red_flag_examples import load_set

ROOT = Path(__file__).resolve().parent.parent
SLICE = "red_flag_fresh.yml"
RATIO = re.compile(r"^(\d\.\d{3}) \((\d+)/(\d+)\)$")


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("eval")
    result = subprocess.run(
        [sys.executable, "scripts/evaluate.py", "--quick", "--sets", SLICE, "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return (out / "eval.md").read_text()


def table_after(report: str, heading: str) -> list[list[str]]:
    """The rows (cells) of the first Markdown table after `heading`, header and rule left out."""
    lines = report.split(f"{heading}\n", 1)[1].splitlines()
    rows = []
    for line in lines[lines.index(next(line for line in lines if line.startswith("|"))):]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split(" | ")])
    return rows[2:]


def test_the_recall_table_has_every_flag_with_its_count_in_the_set(report):
    positives, _ = load_set(SLICE)
    rows = {row[0]: row for row in table_after(report, "### Recall per red flag")}
    for flag in red_flags.load().flags:
        assert flag.id in rows, f"{flag.id} missing from the recall table"
        severity, cell = rows[flag.id][1], rows[flag.id][2]
        assert severity == flag.severity
        if not any(f == flag.id for f, _ in positives):  # a flag added after the set was written
            assert cell == "n/a (0)"
            continue
        match = RATIO.match(cell)
        assert match, f"{flag.id}: {cell!r} is not a recall figure"
        caught, total = int(match.group(2)), int(match.group(3))
        assert total == sum(1 for f, _ in positives if f == flag.id) and 0 <= caught <= total
        assert float(match.group(1)) == pytest.approx(caught / total, abs=0.0005)


def test_the_targets_table_judges_every_target(report):
    rows = table_after(report, "## Targets")
    targets = " ".join(row[0] for row in rows)
    for target in ("macro-F1", "red-flag recall", "dose leaks", "false alarms", "reading grade"):
        assert target in targets, target
    assert all(row[2] in ("pass", "**FAIL**", "not run") for row in rows), rows
    assert [row[2] for row in rows if "macro-F1" in row[0]] == ["not run"]  # --quick: no Rasa runs


def test_the_content_figures_are_measured(report):
    leaks = next(row for row in table_after(report, "## Targets") if row[0].startswith("dose leaks"))
    texts = int(re.search(r"in (\d+) reply texts", leaks[0]).group(1))
    assert texts > 100 and leaks[1].isdigit()
    grades = {row[0]: row for row in table_after(report, "### Reading grade")}
    assert int(grades["answer"][1]) > 0 and float(grades["answer"][2]) > 0
    assert re.search(r"\*\*1\.000 \(\d+/\d+\)\*\*|\*\*0\.\d{3} \(\d+/\d+\)\*\*", report.split("### Clinician steer")[1])
    assert re.search(r"^- Commit: `[0-9a-f]{7,}` \((clean|dirty)", report, re.M)
