"""Importing `lab run` results directories: a real recorded run, and run.json as lab/job.py
writes it now."""

import json
import shutil
from pathlib import Path

import pytest

from lab.arch import get_arch
from lab.errors import UsageError
from lab.history.ingest import ingest_run_dir, read_run_dir, run_from
from lab.history.store import HistoryStore
from lab.kernel.build import BuildRequest
from lab.results.records import CaseRecord
from lab.run.lab_run import ArchRun, RunRequest, write_reports
from lab.run.machine import GuestOptions
from lab.suites.knobs import new_knobs

RECORDED = Path(__file__).parent / "data" / "runs" / "20261122-105125"


@pytest.fixture
def recorded(tmp_path, monkeypatch) -> Path:
    """A copy of the recorded run, with an empty build cache."""
    monkeypatch.setenv("FAULTLAB_CACHE", str(tmp_path / "cache"))
    run_dir = tmp_path / "results" / RECORDED.name
    shutil.copytree(RECORDED, run_dir)
    return run_dir


def test_a_recorded_run_becomes_one_cell(recorded):
    record = read_run_dir(recorded)
    run = record.run
    assert (run.run_id, run.kind, run.complete, run.host) == ("20261122-105125", "run", True, "")
    assert (run.started, run.finished) == ("2026-11-22T10:51:25", "2026-11-22T10:51:56")
    assert run.results_dir == str(recorded)
    (cell,) = record.cells
    assert (cell.key, cell.kernel, cell.arch, cell.mmu, cell.pressure) == (
        "unknown/ppc64/none",
        "unknown",
        "ppc64",
        "radix",
        "none",
    )
    assert (cell.identity.build_id, cell.identity.release) == ("5888a2b7ffedc4ab", "6.1.192+")
    assert (cell.seed, cell.duration_s, cell.build_state) == (20261122, 0, "ok")
    assert (cell.console_log, cell.kernel_log) == ("", "")
    records = json.loads((recorded / "results.json").read_text())["records"]
    assert len(record.results) == len(records) == 55
    assert [(x.suite, x.case, x.state, x.details) for x in record.results] == [
        (r["suite"], r["case"], r["state"], r["details"]) for r in records
    ]
    assert {(x.attempt, x.cell, x.console_log) for x in record.results} == {
        (1, "unknown/ppc64/none", "")
    }


def test_the_cached_build_names_the_kernel_of_an_older_run(recorded, tmp_path):
    build_dir = tmp_path / "cache" / "builds" / "5888a2b7ffedc4ab"
    build_dir.mkdir(parents=True)
    (build_dir / "metadata.json").write_text(
        json.dumps(
            {
                "id": "5888a2b7ffedc4ab",
                "arch": "ppc64",
                "source": "debian-6.1",
                "series": None,
                "series_sha256": None,
                "config_sha256": "d0146613",
                "release": "6.1.192+",
            }
        )
    )
    (cell,) = read_run_dir(recorded).cells
    assert cell.key == "debian-6.1/ppc64/none"
    assert (cell.identity.source, cell.identity.config_hash, cell.identity.patches_hash) == (
        "debian-6.1",
        "d0146613",
        "",
    )


def test_older_runs_find_their_logs_by_the_directory_layout(recorded):
    (recorded / "ppc64").mkdir()
    for name in ("boot10-console.log", "boot2-console.log", "boot1-console.log", "kernel.log"):
        (recorded / "ppc64" / name).write_text("")
    (cell,) = read_run_dir(recorded).cells
    assert (cell.console_log, cell.kernel_log) == ("ppc64/boot1-console.log", "ppc64/kernel.log")


def test_importing_twice_replaces_and_the_run_can_be_named_by_id_or_directory(recorded, tmp_path):
    with HistoryStore(tmp_path / "h.sqlite") as db:
        first = run_from(db, str(recorded))
        assert db.has_run("20261122-105125")
        assert ingest_run_dir(db, recorded) == first
        assert db.run("20261122-105125") == first
        assert len(db.runs()) == 1
        assert run_from(db, "20261122-105125") == first
        with pytest.raises(UsageError, match="'20261122-999999' is neither a run of the history"):
            run_from(db, "20261122-999999")


def test_what_is_not_a_results_directory_is_refused(recorded, tmp_path):
    with pytest.raises(UsageError, match="is not a `lab run` results directory"):
        read_run_dir(tmp_path)
    summary = json.loads((recorded / "run.json").read_text())
    (recorded / "run.json").write_text(
        json.dumps({k: v for k, v in summary.items() if k != "pressure"})
    )
    with pytest.raises(UsageError, match=r"run\.json or results\.json lacks 'pressure'"):
        read_run_dir(recorded)
    (recorded / "run.json").write_text(json.dumps(summary))
    records = json.loads((recorded / "results.json").read_text())
    records["records"][3]["arch"] = "x86_64"
    (recorded / "results.json").write_text(json.dumps(records))
    with pytest.raises(UsageError, match=r"records of arches run\.json does not list: x86_64"):
        read_run_dir(recorded)


def record(arch: str, suite: str, case: str, state: str, message: str = "") -> CaseRecord:
    return CaseRecord(arch, suite, case, state, 1.0, message, "")


def test_run_json_as_lab_run_writes_it_now(tmp_path):
    """Two ppc64 boots under the hash MMU (the first crashed), and an x86_64 build failure."""
    ppc64, x86 = get_arch("ppc64"), get_arch("x86_64")
    crashed = ArchRun(
        "ppc64",
        build_id="b64",
        release="6.1.192+",
        source="debian-6.1",
        series="/lab/patches/selftest/remap-drops-mlock",
        patches_hash="5e7",
        config_hash="c0f",
        build_log="/cache/builds/b64/build.log",
        boot_s=[1.0, 1.1],
        console_logs=["ppc64/boot1-console.log", "ppc64/boot2-console.log"],
        boot_records=[1, 4],
        kernel_log="ppc64/kernel.log",
        records=[
            record("ppc64", "stress-ng", "stress-ng-vm/stress-ng-vm", "skip"),
            record("ppc64", "boot", "boot", "pass"),
            record("ppc64", "nonlinear", "nonlinear/mlocked_window_ext4", "fail"),
            record("ppc64", "nonlinear", "nonlinear/kernel", "fail", "guest panicked"),
            record("ppc64", "boot", "boot", "pass"),
            record("ppc64", "fault", "fault/kernel", "pass"),
        ],
    )
    failed = ArchRun(
        "x86_64",
        source="debian-6.1",
        series="patches/selftest/remap-drops-mlock",
        infra="kernel build failed",
        records=[record("x86_64", "fault", "fault/kernel", "infra", "build: kernel build failed")],
    )
    run_dir = tmp_path / "20261123-020000"
    run_dir.mkdir()
    request = RunRequest(
        (ppc64, x86),
        (),
        BuildRequest(ppc64),
        guest=GuestOptions(mmu="hash", pressure="light"),
        knobs=new_knobs(99, 600),
    )
    write_reports(run_dir, request, [crashed, failed], "2026-11-23T02:00:01", 60.0, True)

    run = read_run_dir(run_dir)
    assert (run.run.started, run.run.finished) == ("2026-11-23T02:00:01", "2026-11-23T02:01:01")
    ppc, x = run.cells
    assert (ppc.key, ppc.arch, ppc.mmu, ppc.seed, ppc.duration_s, ppc.build_state) == (
        "debian-6.1+remap-drops-mlock/ppc64-hash/light/600s",
        "ppc64",
        "hash",
        99,
        600,
        "ok",
    )
    assert (ppc.identity.patches_hash, ppc.identity.config_hash, ppc.build_log) == (
        "5e7",
        "c0f",
        "/cache/builds/b64/build.log",
    )
    assert (ppc.console_log, ppc.kernel_log) == ("ppc64/boot1-console.log", "ppc64/kernel.log")
    assert (x.key, x.mmu, x.build_state, x.identity.build_id) == (
        "debian-6.1+remap-drops-mlock/x86_64/light/600s",
        "",
        "fail",
        "",
    )
    assert [(r.cell, r.case, r.attempt, r.console_log, r.kernel_log) for r in run.results] == [
        (ppc.key, "stress-ng-vm/stress-ng-vm", 1, "", ""),
        (ppc.key, "boot", 1, "ppc64/boot1-console.log", "ppc64/kernel.log"),
        (
            ppc.key,
            "nonlinear/mlocked_window_ext4",
            1,
            "ppc64/boot1-console.log",
            "ppc64/kernel.log",
        ),
        (ppc.key, "nonlinear/kernel", 1, "ppc64/boot1-console.log", "ppc64/kernel.log"),
        (ppc.key, "boot", 2, "ppc64/boot2-console.log", "ppc64/kernel.log"),
        (ppc.key, "fault/kernel", 1, "ppc64/boot2-console.log", "ppc64/kernel.log"),
        (x.key, "fault/kernel", 1, "", ""),
    ]


def test_a_debug_kernels_cell_is_keyed_apart_from_the_tiny_kernels(tmp_path):
    """A `lab run --flavour debug` arch: its kernel is named with the flavour as a suffix."""
    x86 = get_arch("x86_64")
    debug = ArchRun(
        "x86_64",
        build_id="d86",
        source="debian-6.1",
        flavour="debug",
        records=[record("x86_64", "boot", "boot", "pass")],
    )
    run_dir = tmp_path / "20261207-150000"
    run_dir.mkdir()
    request = RunRequest((x86,), (), BuildRequest(x86, flavour="debug"))
    write_reports(run_dir, request, [debug], "2026-12-07T15:00:00", 1.0, True)
    (cell,) = read_run_dir(run_dir).cells
    assert (cell.key, cell.kernel) == ("debian-6.1-debug/x86_64/none", "debian-6.1-debug")
