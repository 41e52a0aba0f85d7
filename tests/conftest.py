"""Fixtures of the lab's own tests: runs of the history made from short descriptions,
results directories made from a recorded run, and a simulated bench for bisects."""

import json
import shutil
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from lab.arch.variants import get_variant
from lab.bisect.policy import RunResult
from lab.bisect.steps import Built
from lab.errors import BuildError
from lab.history.model import CellInfo, KernelIdentity, ResultRow, RunInfo, RunRecord
from lab.kernel.build import BuildRequest
from lab.kernel.gitrepo import git, init_repo
from lab.kernel.mails import read_mails
from lab.results.oracle import find_problems, load_allowlist, parse_kernel_log

STATES = {"p": "pass", "f": "fail", "s": "skip", "i": "infra"}


def make_run(
    run_id: str,
    cells: dict[str, list[tuple[str, str, str]]],
    kernels: dict[str, KernelIdentity] | None = None,
) -> RunRecord:
    """A run 'YYYYmmdd-HHMMSS' whose cells ('kernel/variant/pressure[/Ns]') hold cases
    (suite, case, attempts: 'p', 'f', 's', 'i', 'pf' for two attempts ...)."""
    started = datetime.strptime(run_id, "%Y%m%d-%H%M%S").isoformat()
    run = RunInfo(
        run_id,
        started,
        started,
        "nightly",
        f"/results/{run_id}",
        True,
        matrix="default",
        host="lab1",
    )
    infos, rows = [], []
    for key, cases in cells.items():
        kernel, variant_name, pressure, *duration = key.split("/")
        variant = get_variant(variant_name)
        identity = (kernels or {}).get(
            key, KernelIdentity(kernel, build_id=f"b-{run_id}", release="6.1.192+")
        )
        infos.append(
            CellInfo(
                run_id,
                key,
                kernel,
                identity,
                variant.arch,
                variant.mmu,
                pressure,
                seed=7,
                duration_s=int(duration[0][:-1]) if duration else 0,
                build_state="ok",
                console_log="x/boot1-console.log",
            )
        )
        attempts: Counter[tuple[str, str]] = Counter()
        for suite, case, states in cases:
            for state in states:
                attempts[suite, case] += 1
                rows.append(
                    ResultRow(
                        run_id,
                        key,
                        suite,
                        case,
                        attempts[suite, case],
                        STATES[state],
                        0.5,
                        f"{STATES[state]} message",
                        "",
                    )
                )
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
    problems = find_problems(
        parse_kernel_log((second / "ppc64" / "kernel.log").read_text()), load_allowlist()
    )
    results = json.loads((second / "results.json").read_text())
    kernel = next(r for r in results["records"] if r["case"] == "fault/kernel")
    kernel.update(
        state="fail",
        message="; ".join(p.title for p in problems),
        details="\n\n".join(p.report for p in problems),
    )
    (second / "results.json").write_text(json.dumps(results))
    return first, second


@dataclass
class SimBench:
    """A bisect bench without kernels: each candidate is a number read from what its build
    request names, a build of an unbuildable number fails like a compile error, and each run
    is a function of (number, run index). Kernels with the same digest are identical."""

    value_of: Callable[[BuildRequest], int]
    outcome: Callable[[int, int], RunResult]
    unbuildable: frozenset[int] = frozenset()
    digest_of: Callable[[int], str] = str
    interrupt_at_build: int | None = None  # the n-th build (from 0) raises KeyboardInterrupt
    builds: list[int] = field(default_factory=list)
    runs: list[tuple[int, int]] = field(default_factory=list)
    fanout: int = 1
    batches: list[list[int]] = field(default_factory=list)  # the indexes run at once

    def build(self, request: BuildRequest) -> Built:
        value = self.value_of(request)
        if self.interrupt_at_build == len(self.builds):
            raise KeyboardInterrupt
        self.builds.append(value)
        if value in self.unbuildable:
            raise BuildError(
                f"x86_64 kernel build failed\nmm/mremap.c:966:9: error: expected "
                f"';' before 'if' (candidate {value})"
            )
        return Built(f"b{value:04d}", f"/builds/b{value:04d}", self.digest_of(value), 1.0)

    def run(self, built: Built, index: int, run_dir: Path) -> RunResult:
        value = int(built.build_id[1:])
        self.runs.append((value, index))
        return self.outcome(value, index)

    def run_many(self, built: Built, indexes: list[int], step_dir: Path) -> list[RunResult]:
        self.batches.append(indexes)
        return [self.run(built, i, step_dir) for i in indexes]


def git_value(repo: Path) -> Callable[[BuildRequest], int]:
    """The number in value.txt at the commit a 'git:PATH@SHA' request names."""
    return lambda request: int(git(repo, "show", f"{request.source.rpartition('@')[2]}:value.txt"))


def series_value(request: BuildRequest) -> int:
    """How many patches a candidate of a series bisect applies (a quilt folder's, or an
    mbox's)."""
    if request.series is None:
        return 0
    if request.series.is_file():
        return len(read_mails(request.series))
    return len((request.series / "series").read_text().split())


def fails_from(culprit: int) -> Callable[[int, int], RunResult]:
    """Runs fail the test from `culprit` on, pass before it."""

    def outcome(value: int, index: int) -> RunResult:
        if value >= culprit:
            return RunResult("fail", message="data mismatch at page 3", details="# FAIL: x")
        return RunResult("pass")

    return outcome


@pytest.fixture
def value_repo(tmp_path) -> tuple[Path, list[str]]:
    """A git repository of 20 commits; commit i sets value.txt to i; its commit ids."""
    repo = tmp_path / "user-repo"
    repo.mkdir()
    init_repo(repo)
    commits = []
    for i in range(20):
        (repo / "value.txt").write_text(f"{i}\n")
        git(repo, "add", "value.txt")
        git(repo, "commit", "-q", "-m", f"value {i}", "--author", f"Dev {i} <dev{i}@example.org>")
        commits.append(git(repo, "rev-parse", "HEAD"))
    return repo, commits


@pytest.fixture
def bisect_cache(tmp_path, monkeypatch) -> Path:
    """A fresh lab cache (bisect states, scratch clones) and no history."""
    monkeypatch.setenv("FAULTLAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("FAULTLAB_HISTORY", str(tmp_path / "no-history.sqlite"))
    return tmp_path / "cache"


@pytest.fixture
def sim() -> SimpleNamespace:
    """The simulated bisect bench and its helpers."""
    return SimpleNamespace(
        Bench=SimBench, git_value=git_value, series_value=series_value, fails_from=fails_from
    )
