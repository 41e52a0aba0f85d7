"""`lab history` and `lab compare` as a user runs them, on the recorded run and a copy of it
in which one case failed."""

import json
import shutil
from pathlib import Path

import pytest

from lab.cli import main

RECORDED = Path(__file__).parent / "data" / "runs" / "20261122-105125"


@pytest.fixture
def lab(tmp_path, monkeypatch, capsys):
    """Run `lab ...` in this process against a fresh history; returns (status, output)."""
    monkeypatch.setenv("FAULTLAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("FAULTLAB_HISTORY", str(tmp_path / "history.sqlite"))
    monkeypatch.setenv("COLUMNS", "220")

    def run(*argv: str) -> tuple[int, str]:
        status = main(list(argv))
        out, err = capsys.readouterr()
        return status, out + err

    return run


@pytest.fixture
def runs(tmp_path) -> tuple[Path, Path]:
    """The recorded run, and a copy a day later whose fault/cow_fork failed."""
    first = tmp_path / "results" / RECORDED.name
    shutil.copytree(RECORDED, first)
    second = tmp_path / "results" / "20261123-105125"
    shutil.copytree(RECORDED, second)
    results = json.loads((second / "results.json").read_text())
    cow = next(r for r in results["records"] if r["case"] == "fault/cow_fork")
    cow.update(state="fail", message="child saw the parent's write at page 3")
    (second / "results.json").write_text(json.dumps(results))
    return first, second


def test_import_then_history_of_a_case_that_regressed(lab, runs, tmp_path):
    first, second = runs
    status, out = lab("history", "--import", str(first), str(second))
    assert status == 0
    history = tmp_path / "history.sqlite"
    assert out.splitlines() == [
        f"20261122-105125: unknown/ppc64/none; 55 results into {history}",
        f"20261123-105125: unknown/ppc64/none; 55 results into {history}",
    ]
    status, out = lab("history", "--test", "fault/fault/cow_fork", "--arch", "ppc64")
    assert status == 0
    assert "fault/fault/cow_fork in unknown/ppc64/none" in out
    assert "2026-11-23 10:51:25" in out and "child saw the parent's write at page 3" in out
    assert (
        "regression: failed after passing (run 20261123-105125); last good run "
        "20261122-105125: unknown 6.1.192+ 5888a2b7ffedc4ab; the kernel has not changed "
        "since"
    ) in out
    status, out = lab("history", "--test", "fault/cow_fork", "--last", "1")
    assert "20261123-105125" in out and "20261122-105125 " not in out.split("regression")[0]
    status, out = lab("history", "--test", "fault/cow_fork", "--arch", "ppc64-hash")
    assert status == 2
    assert "no results of 'fault/cow_fork'" in out


def test_compare_two_runs_imports_a_results_directory_on_the_fly(lab, runs):
    first, second = runs
    assert lab("history", "--import", str(first))[0] == 0
    status, out = lab("compare", "20261122-105125", str(second), "--changed")
    assert status == 0
    lines = [line for line in out.splitlines() if "unknown/ppc64/none" in line]
    assert len(lines) == 1
    assert "fault/fault/cow_fork" in lines[0] and "pass->fail" in lines[0]
    assert "1 pass->fail, 54 same" in out
    status, out = lab("compare", "20261123-105125", "20261122-105125")
    assert "1 fail->pass, 54 same" in out


def test_compare_one_run_across_arch_variants(lab, runs):
    first, _ = runs
    status, out = lab("compare", "--arch", "x86_64,ppc64,ppc64-hash", str(first))
    assert status == 0
    assert "x86_64 (4K pages)" in out and "ppc64-hash (64K pages)" in out
    assert "0 of 55 cases diverge between arch variants" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("compare", "20261122-105125"), "give two runs to compare"),
        (("compare", "--arch", "x86_64", "a", "b"), "--arch compares one run"),
        (("compare", "--arch", "sparc", "a"), "unknown arch 'sparc'"),
        (("compare", "a", "b"), "'a' is neither a run of the history"),
        (("history", "--test", "boot/boot", "--last", "0"), "--last 0: show at least one run"),
        (("history", "--import", "/nonexistent/run"), "is not a `lab run` results directory"),
    ],
)
def test_bad_requests_are_usage_errors(lab, argv, message):
    status, out = lab(*argv)
    assert status == 2
    assert message in out
