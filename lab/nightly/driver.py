"""`lab nightly`: build every kernel of a matrix, run its cells, record the night in the
history.

Builds go first, one at a time (each uses every core). Then the cells run, as many at once
as the host has cores and memory for. A cell whose kernel did not build is recorded with its
build failure and its programs as not run. A cell with infra results is run again up to
`retries` times; a cell with failures runs its failing suites `reruns` more times, so each
failure can be told consistent or flaky. Every attempt keeps its own results directory.
"""

import json
import socket
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from lab.errors import LabError
from lab.history.ingest import read_cell, read_results
from lab.history.model import CellInfo, ResultRow, RunInfo, RunRecord
from lab.nightly.jobs import AttemptJob, BuildJob, attempted, built
from lab.nightly.matrix import BuildSpec, Cell, Matrix
from lab.progress import note
from lab.run.jobs import Runtime
from lab.run.lab_run import ArchRun, RunRequest, infra_records, new_run_dir, write_reports
from lab.suites.knobs import new_knobs
from lab.version import lab_identity


@dataclass(frozen=True)
class NightlyOptions:
    """How a night runs."""

    results_root: Path = Path("results")
    slots: int = 0  # cells at once; 0: as many as cores and memory allow
    retries: int = 1  # more attempts for a cell with infra results
    reruns: int = 1  # more runs of the suites that failed, to tell consistent from flaky
    seed: int | None = None


@dataclass
class CellRun:
    """Every attempt of one cell."""

    cell: Cell
    attempts: list[tuple[Path, ArchRun]] = field(default_factory=list)

    def rows(self, run_id: str) -> tuple[CellInfo, list[ResultRow]]:
        """The cell and its results over all attempts, attempt numbers counting on."""
        info: CellInfo | None = None
        rows: list[ResultRow] = []
        seen: dict[tuple[str, str], int] = {}
        for attempt_dir, outcome in self.attempts:
            summary = json.loads((attempt_dir / "run.json").read_text())
            entry = summary["arches"][0]
            records = [asdict(r) for r in outcome.records]
            cell = replace(
                read_cell(attempt_dir, run_id, summary, entry, records),
                key=self.cell.key,
                kernel=self.cell.kernel,
            )
            info = info or replace(
                cell,
                console_log=relative(attempt_dir, cell.console_log),
                kernel_log=relative(attempt_dir, cell.kernel_log),
            )
            for row in read_results(cell, entry, records):
                seen[row.suite, row.case] = seen.get((row.suite, row.case), 0) + 1
                rows.append(
                    replace(
                        row,
                        attempt=seen[row.suite, row.case],
                        console_log=relative(attempt_dir, row.console_log),
                        kernel_log=relative(attempt_dir, row.kernel_log),
                    )
                )
        assert info is not None, "a cell runs at least once"
        return info, rows


def relative(attempt_dir: Path, path: str) -> str:
    """A log path of an attempt, relative to the night's results directory."""
    if not path:
        return ""
    return str(Path(attempt_dir.parent.name, attempt_dir.name, path))


def cell_dir_name(cell: Cell) -> str:
    """The cell's folder in the night's results: its key with '/' as '_'."""
    return cell.key.replace("/", "_")


def build_all(matrix: Matrix, runtime: Runtime) -> dict[BuildSpec, str | LabError]:
    """Every build of the matrix, one after the other: the build id or why it failed."""
    builds: dict[BuildSpec, str | LabError] = {}
    specs = matrix.builds()
    for index, spec in enumerate(specs, 1):
        note(
            f"nightly: build {index}/{len(specs)}: {spec.source} "
            f"{spec.series or '(no series)'} {spec.arch} ({spec.flavour})"
        )
        builds[spec] = built(runtime, BuildJob(spec))
        if isinstance(builds[spec], LabError):
            note(f"nightly: build {index}/{len(specs)} failed: {str(builds[spec]).splitlines()[0]}")
    return builds


def save_attempt(
    cell_run: CellRun, request: RunRequest, cell_dir: Path, run: Callable[[Path], ArchRun]
) -> ArchRun:
    """Make the cell's next attempt folder, cell_dir/try<N>/, let `run(attempt_dir)` fill it
    and write its run.json and results.json."""
    attempt_dir = cell_dir / f"try{len(cell_run.attempts) + 1}"
    attempt_dir.mkdir(parents=True)
    started, start = time.strftime("%Y-%m-%dT%H:%M:%S"), time.monotonic()
    outcome = run(attempt_dir)
    write_reports(attempt_dir, request, [outcome], started, time.monotonic() - start, complete=True)
    cell_run.attempts.append((attempt_dir, outcome))
    return outcome


def run_attempt(cell_run: CellRun, job: AttemptJob, cell_dir: Path, runtime: Runtime) -> ArchRun:
    """One attempt of a cell, run by the runtime."""
    return save_attempt(
        cell_run,
        job.request(cell_dir.parent),
        cell_dir,
        lambda attempt_dir: attempted(runtime, job, attempt_dir),
    )


def failed_build_attempt(cell_run: CellRun, error: LabError, cell_dir: Path, seed: int) -> None:
    """A cell whose kernel did not build: its programs are infra, saying 'build: ...'."""
    cell = cell_run.cell
    request = AttemptJob(cell, cell.suites, seed, "").request(cell_dir.parent)
    outcome = ArchRun(
        cell.arch,
        source=cell.source,
        series=cell.series,
        infra=str(error),
        records=infra_records(cell.arch, request.suites, f"build: {error}"),
    )
    save_attempt(cell_run, request, cell_dir, lambda _: outcome)


def run_cell(
    cell: Cell,
    build: str | LabError,
    night_dir: Path,
    seed: int,
    options: NightlyOptions,
    runtime: Runtime,
) -> CellRun:
    """Run a cell `repeat` times, again after infra results, and its failing suites again."""
    cell_run = CellRun(cell)
    cell_dir = night_dir / cell_dir_name(cell)
    if isinstance(build, LabError):
        failed_build_attempt(cell_run, build, cell_dir, seed)
        return cell_run

    def attempt(suites: tuple[str, ...]) -> ArchRun:
        return run_attempt(cell_run, AttemptJob(cell, suites, seed, build), cell_dir, runtime)

    for repeat in range(cell.repeat):
        note(f"nightly: {cell.key}: run {repeat + 1}/{cell.repeat}")
        outcome = attempt(cell.suites)
        for retry in range(options.retries):
            if not any(r.state == "infra" for r in outcome.records):
                break
            note(f"nightly: {cell.key}: infra results, retry {retry + 1}/{options.retries}")
            infra = {r.suite for r in outcome.records if r.state == "infra"}
            outcome = attempt(tuple(s for s in cell.suites if s in infra) or cell.suites)
    failing = {r.suite for _, o in cell_run.attempts for r in o.records if r.state == "fail"}
    again = tuple(s for s in cell.suites if s in failing)
    for rerun in range(options.reruns if again else 0):
        note(f"nightly: {cell.key}: {', '.join(again)} failed, re-run {rerun + 1}/{options.reruns}")
        attempt(again)
    return cell_run


def run_night(matrix: Matrix, options: NightlyOptions, runtime: Runtime) -> tuple[Path, RunRecord]:
    """Build, run every cell (here, or on the runtime's workers), and return the night's
    results directory and history record (not yet written to the history)."""
    night_dir = new_run_dir(options.results_root)
    knobs = new_knobs(options.seed)
    note(
        f"nightly {night_dir.name}: matrix {matrix.name} ({len(matrix.cells)} cells, "
        f"{len(matrix.builds())} builds), seed {knobs.seed}"
    )
    started, start = time.strftime("%Y-%m-%dT%H:%M:%S"), time.monotonic()
    builds = build_all(matrix, runtime)
    slots = options.slots or runtime.slots(len(matrix.cells))
    note(f"nightly: running {len(matrix.cells)} cells, {slots} at a time ({runtime.name})")
    with ThreadPoolExecutor(max_workers=slots) as pool:
        futures = [
            pool.submit(run_cell, cell, builds[cell.build], night_dir, knobs.seed, options, runtime)
            for cell in matrix.cells
        ]
        cell_runs = [f.result() for f in futures]
    finished = time.strftime("%Y-%m-%dT%H:%M:%S")
    run = RunInfo(
        night_dir.name,
        started,
        finished,
        kind="nightly",
        results_dir=str(night_dir.resolve()),
        complete=True,
        matrix=matrix.name,
        host=socket.gethostname(),
        lab=lab_identity(),
    )
    cells, rows = [], []
    for cell_run in cell_runs:
        info, cell_rows = cell_run.rows(run.run_id)
        cells.append(info)
        rows += cell_rows
    record = RunRecord(run, tuple(cells), tuple(rows))
    (night_dir / "nightly.json").write_text(
        json.dumps(
            {
                "matrix": str(matrix.path),
                "seed": knobs.seed,
                "slots": slots,
                "runtime": runtime.name,
                "duration_s": round(time.monotonic() - start, 1),
                "builds": {
                    f"{s.source}|{s.series}|{s.arch}|{s.flavour}": (
                        f"failed: {b}" if isinstance(b, LabError) else b
                    )
                    for s, b in builds.items()
                },
                "cells": [c.key for c in matrix.cells],
            },
            indent=2,
        )
        + "\n"
    )
    return night_dir, record
