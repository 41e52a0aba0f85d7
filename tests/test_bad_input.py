"""Bad input, a damaged cache, an absent broker, a full disk: each gets one line naming the
culprit and the documented exit status (2 bad input, 3 infrastructure) before any work,
with nothing half-written. Runs the real `lab` command."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_files import small_disk

ROOT = Path(__file__).resolve().parent.parent
RECORDED_RUN = Path(__file__).parent / "data" / "runs" / "20261122-105125"


def lab(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "lab", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
    )


@pytest.fixture
def work(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.setenv("FAULTLAB_HISTORY", str(tmp_path / "history.sqlite"))
    return tmp_path


CASES = [
    (
        ("run", "--kernel", "/nowhere/build"),
        2,
        "kernel /nowhere/build: /nowhere/build is not a directory",
    ),
    (("run", "--seed", "-1"), 2, "argument --seed: -1: use a number from 0 to 2147483647"),
    (("run", "--memory", "1"), 2, "--memory 1: a guest needs at least 128 MiB"),
    (
        ("run", "--arch", "ppc64", "--memory", "300"),
        2,
        "--memory 300: ppc64 guest RAM must be a multiple of 256 MiB",
    ),
    (("run", "--pressure", "squeezed"), 2, "unknown pressure profile 'squeezed'"),
    (("run", "--suite", "smoke,nosuch"), 2, "unknown suite 'nosuch'"),
    (("run", "--duration", "5x"), 2, "bad duration '5x'"),
    (("run", "--module-param", "bug=1"), 2, "bad module parameter 'bug=1'"),
    (
        ("run", "--module-param", "faultlab_spu.bug=1", "--suite", "smoke"),
        2,
        "module parameter faultlab_spu.bug=1: no selected suite loads faultlab_spu.ko",
    ),
    (("run", "--target", "ftp://host"), 2, "ftp://host"),
    (("run", "--arch", "sparc"), 2, "unknown arch 'sparc'"),
    (("build", "--series", "/nowhere/series"), 2, "patch series /nowhere/series not found"),
    (("build", "--config", "/nowhere.config"), 2, "config fragment /nowhere.config not found"),
    (("build", "--source", "debian-2.4"), 2, "unknown kernel source 'debian-2.4'"),
    (("build", "--source", "git:/nowhere"), 2, "git:/nowhere: /nowhere is not a git repository"),
    (("build", "--jobs", "0"), 2, "--jobs 0: at least 1"),
    (("build", "--flavour", "huge"), 2, "argument --flavour: invalid choice: 'huge'"),
    (("boot",), 2, "lab boot needs a terminal on standard input"),
    (("history", "--test", "smoke/x", "--last", "0"), 2, "--last 0: show at least one run"),
    (("bisect",), 2, "give one of --tree (with --good/--bad), --series (with --source)"),
    (("nightly", "--matrix", "/nowhere.toml"), 2, "/nowhere.toml"),
    (
        ("nightly", "--runtime", "celery", "--broker", "amqp://guest:guest@127.0.0.1:1//"),
        3,
        "the broker amqp://guest:**@127.0.0.1:1// does not answer",
    ),
]


@pytest.mark.parametrize(("args", "status", "line"), CASES, ids=[" ".join(c[0]) for c in CASES])
def test_bad_input_gets_one_line_and_its_status(work, args, status, line):
    result = (
        lab(*args, "--results", str(work / "results"), cwd=work)
        if args[0] in ("run", "nightly")
        else lab(*args, cwd=work)
    )
    assert result.returncode == status, result.stderr
    assert line in result.stderr
    assert "Traceback" not in result.stderr
    assert not (work / "results").exists()  # nothing started, nothing half-written


def test_a_damaged_cache_entry_named_by_kernel_is_refused_as_infra(work):
    entry = work / "cache" / "builds" / "0123456789abcdef"
    entry.mkdir(parents=True)
    (entry / "metadata.json").write_text('{"id": "0123456789abcdef", "arch": "x86')
    result = lab(
        "run",
        "--kernel",
        entry.name,
        "--results",
        str(work / "results"),
        cwd=work,
        env={"FAULTLAB_CACHE": str(work / "cache")},
    )
    assert result.returncode == 3
    assert f"build cache entry {entry} is damaged: metadata.json:" in result.stderr
    assert not (work / "results").exists()


def test_a_report_on_a_full_disk_is_infra_and_leaves_no_part(work):
    size = sum(p.stat().st_size for p in RECORDED_RUN.rglob("*")) // 1024 + 256
    with small_disk(work / "small", size) as disk:
        run_dir = disk / RECORDED_RUN.name
        shutil.copytree(RECORDED_RUN, run_dir)
        with open(disk / "filler", "wb") as f:  # leave a few hundred bytes free
            f.write(b"\0" * (shutil.disk_usage(disk).free - 512))
        result = lab("report", str(run_dir), cwd=work, env={"FAULTLAB_CACHE": str(work / "cache")})
        leftovers = list(run_dir.glob(".*.tmp"))
        records = json.loads((run_dir / "results.json").read_text())["records"]
    assert result.returncode == 3, result.stderr
    assert "No space left on device" in result.stderr
    assert not leftovers and records
