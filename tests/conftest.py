"""Fixtures of the lab's own tests: runs of the history made from short descriptions, and
results directories made from a recorded run."""

import json
import shutil
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest

from lab.arch.variants import get_variant
from lab.history.model import CellInfo, KernelIdentity, ResultRow, RunInfo, RunRecord
from lab.results.oracle import find_problems, load_allowlist, parse_kernel_log

STATES = {"p": "pass", "f": "fail", "s": "skip", "i": "infra"}


def make_run(run_id: str, cells: dict[str, list[tuple[str, str, str]]],
             kernels: dict[str, KernelIdentity] | None = None) -> RunRecord:
    """A run 'YYYYmmdd-HHMMSS' whose cells ('kernel/variant/pressure[/Ns]') hold cases
    (suite, case, attempts: 'p', 'f', 's', 'i', 'pf' for two attempts ...)."""
    started = datetime.strptime(run_id, "%Y%m%d-%H%M%S").isoformat()
    run = RunInfo(run_id, started, started, "nightly", f"/results/{run_id}", True,
                  matrix="default", host="lab1")
    infos, rows = [], []
    for key, cases in cells.items():
        kernel, variant_name, pressure, *duration = key.split("/")
        variant = get_variant(variant_name)
        identity = (kernels or {}).get(key, KernelIdentity(kernel, build_id=f"b-{run_id}",
                                                           release="6.1.192+"))
        infos.append(CellInfo(run_id, key, kernel, identity, variant.arch, variant.mmu,
                              pressure, seed=7, duration_s=int(duration[0][:-1]) if duration
                              else 0, build_state="ok", console_log="x/boot1-console.log"))
        attempts: Counter[tuple[str, str]] = Counter()
        for suite, case, states in cases:
            for state in states:
                attempts[suite, case] += 1
                rows.append(ResultRow(run_id, key, suite, case, attempts[suite, case],
                                      STATES[state], 0.5, f"{STATES[state]} message", ""))
    return RunRecord(run, tuple(infos), tuple(rows))


@pytest.fixture
def history_run():
    return make_run


RECORDED_RUN = Path(__file__).parent / "data" / "runs" / "20261122-105125"
PPC64_LOGS = Path(__file__).parent / "data" / "console"


@pytest.fixture
def regressed_runs(tmp_path, monkeypatch) -> tuple[Path, Path]:
    """The recorded ppc64 run, and a copy a day later whose fault/kernel failed with the
    kernel reports of a recorded ppc64 LKDTM boot (its kernel and console logs in the run
    directory, where `lab run` puts them); a fresh history and build cache."""
    monkeypatch.setenv("FAULTLAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("FAULTLAB_HISTORY", str(tmp_path / "history.sqlite"))
    first = tmp_path / "results" / RECORDED_RUN.name
    shutil.copytree(RECORDED_RUN, first)
    second = tmp_path / "results" / "20261123-105125"
    shutil.copytree(RECORDED_RUN, second)
    (second / "ppc64").mkdir()
    shutil.copy(PPC64_LOGS / "ppc64-lkdtm.kmsg", second / "ppc64" / "kernel.log")
    shutil.copy(PPC64_LOGS / "ppc64-lkdtm.console.log", second / "ppc64" / "boot1-console.log")
    problems = find_problems(parse_kernel_log((second / "ppc64" / "kernel.log").read_text()),
                             load_allowlist())
    results = json.loads((second / "results.json").read_text())
    kernel = next(r for r in results["records"] if r["case"] == "fault/kernel")
    kernel.update(state="fail", message="; ".join(p.title for p in problems),
                  details="\n\n".join(p.report for p in problems))
    (second / "results.json").write_text(json.dumps(results))
    return first, second
