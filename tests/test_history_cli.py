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


@pytest.fixture
def lab_json(tmp_path, monkeypatch, capsys):
    """Run `lab ... --json` in this process; returns (status, the document on stdout,
    stderr)."""
    monkeypatch.setenv("FAULTLAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("FAULTLAB_HISTORY", str(tmp_path / "history.sqlite"))

    def run(*argv: str) -> tuple[int, dict, str]:
        status = main([*argv, "--json"])
        out, err = capsys.readouterr()
        return status, json.loads(out), err

    return run


def test_history_as_json(lab_json, runs, tmp_path):
    first, second = runs
    status, imported, err = lab_json("history", "--import", str(first), str(second))
    assert status == 0
    assert imported == {
        "history": str(tmp_path / "history.sqlite"),
        "imported": [
            {"run_id": "20261122-105125", "cells": ["unknown/ppc64/none"], "results": 55},
            {"run_id": "20261123-105125", "cells": ["unknown/ppc64/none"], "results": 55},
        ],
    }
    assert "20261122-105125: unknown/ppc64/none; 55 results" in err  # progress on stderr
    status, document, _ = lab_json("history", "--test", "fault/fault/cow_fork", "--arch", "ppc64")
    assert status == 0
    assert document["test"] == "fault/fault/cow_fork"
    (cell,) = document["cells"]
    assert cell["cell"] == "unknown/ppc64/none"
    assert [(r["run_id"], r["state"]) for r in cell["runs"]] == [
        ("20261122-105125", "pass"),
        ("20261123-105125", "fail"),
    ]
    newest = cell["runs"][-1]
    assert newest["started"] == "2026-11-23T10:51:25"
    assert newest["message"] == "child saw the parent's write at page 3"
    assert newest["kernel"] == {
        "source": "unknown",
        "series": "",
        "patches_hash": "",
        "config_hash": "",
        "build_id": "5888a2b7ffedc4ab",
        "release": "6.1.192+",
    }
    (attempt,) = newest["attempts"]
    assert (attempt["attempt"], attempt["state"], attempt["case"]) == (1, "fail", "fault/cow_fork")
    verdict = cell["classification"]
    assert (verdict["kind"], verdict["newest"]["run_id"]) == ("regression", "20261123-105125")
    assert verdict["last_good"]["run_id"] == "20261122-105125"
    assert verdict["meaning"] == "failed after passing"
    assert verdict["description"].startswith("regression: failed after passing")
    assert verdict["suspect_kernels"] == [] and verdict["changed_tools"] is None
    _, last_one, _ = lab_json("history", "--test", "fault/cow_fork", "--last", "1")
    assert [r["run_id"] for r in last_one["cells"][0]["runs"]] == ["20261123-105125"]
    assert last_one["cells"][0]["classification"]["kind"] == "regression"  # from all runs


def test_compare_as_json(lab_json, runs):
    first, second = runs
    status, document, _ = lab_json("compare", str(first), str(second))
    assert status == 0
    assert document["compare"] == "runs"
    assert (document["a"]["run_id"], document["b"]["run_id"]) == (
        "20261122-105125",
        "20261123-105125",
    )
    assert document["counts"] == {"pass->fail": 1, "same": 54}
    assert len(document["changes"]) == 55
    assert document["changes"][0] == {
        "cell": "unknown/ppc64/none",
        "suite": "fault",
        "case": "fault/cow_fork",
        "a": "pass",
        "b": "fail",
        "kind": "pass->fail",
    }
    _, changed, _ = lab_json("compare", "20261123-105125", "20261122-105125", "--changed")
    assert [c["kind"] for c in changed["changes"]] == ["fail->pass"]
    assert changed["counts"] == {"fail->pass": 1, "same": 54}


def test_compare_across_arch_variants_as_json(lab_json, runs):
    first, _ = runs
    status, document, _ = lab_json("compare", "--arch", "x86_64,ppc64,ppc64-hash", str(first))
    assert status == 0
    assert document["compare"] == "arch variants"
    assert document["run"]["run_id"] == "20261122-105125"
    assert document["variants"] == [
        {"variant": "x86_64", "page_size": 4096},
        {"variant": "ppc64", "page_size": 65536},
        {"variant": "ppc64-hash", "page_size": 65536},
    ]
    assert (len(document["cases"]), document["divergent"]) == (55, 0)
    cow = next(c for c in document["cases"] if c["case"] == "fault/cow_fork")
    assert cow["states"] == {"x86_64": None, "ppc64": "pass", "ppc64-hash": None}
    assert (cow["kernel"], cow["pressure"], cow["divergent"]) == ("unknown", "none", False)


def test_json_errors_are_still_usage_errors(lab, runs):
    status, out = lab("history", "--test", "boot/nope", "--json")
    assert status == 2 and "no results of 'boot/nope'" in out
