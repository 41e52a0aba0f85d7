"""Reading a `lab run` results directory (run.json, results.json) into the history.

Each arch (or remote target) of the run is a cell keyed by its kernel, arch variant (arch
and --mmu), pressure profile and duration; a target that never said what it is stays out.
run.json files written before it recorded the kernel's source take it from the build's
metadata in the build cache when that build is still there, else the source is 'unknown';
their console and kernel logs are found by the results directory's layout.
"""

import json
import re
from bisect import bisect_right
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

from lab.arch import ARCHES
from lab.arch.variants import variant_for
from lab.errors import InfraError, UsageError
from lab.history.model import (
    BuildState,
    CellInfo,
    KernelIdentity,
    ResultRow,
    RunInfo,
    RunRecord,
    cell_key,
    kernel_name,
)
from lab.history.store import HistoryStore
from lab.kernel.build import load_build

UNKNOWN_SOURCE = "unknown"
RUN_ID = re.compile(r"(\d{8}-\d{6})(-\d+)?")  # results/<YYYYmmdd-HHMMSS>[-N], as lab/job.py


def ingest_run_dir(db: HistoryStore, run_dir: Path) -> RunRecord:
    """Write a results directory's run into the history (replacing an earlier import)."""
    record = read_run_dir(run_dir)
    db.write_run(record)
    return record


def run_from(db: HistoryStore, ref: str) -> RunRecord:
    """A run by its id in the history, or by its results directory (imported first when the
    history does not have it)."""
    run_dir = Path(ref)
    if (run_dir / "run.json").exists():
        run_id = run_dir.resolve().name
        return db.run(run_id) if db.has_run(run_id) else ingest_run_dir(db, run_dir)
    if (run_dir / "nightly.json").exists():  # a night is recorded by `lab nightly` itself
        ref = run_dir.resolve().name
        if not db.has_run(ref):
            raise UsageError(
                f"night {ref} is not in the history {db.path}: give the history "
                "its `lab nightly` wrote to (--history)"
            )
    if db.has_run(ref):
        return db.run(ref)
    raise UsageError(
        f"{ref!r} is neither a run of the history {db.path} nor a results "
        "directory (with run.json or nightly.json)"
    )


def read_run_dir(run_dir: Path) -> RunRecord:
    """The history's record of a `lab run` results directory."""
    run_dir = run_dir.resolve()
    try:
        summary = json.loads((run_dir / "run.json").read_text())
        records = json.loads((run_dir / "results.json").read_text())["records"]
    except (OSError, ValueError, KeyError) as e:
        raise UsageError(f"{run_dir} is not a `lab run` results directory: {e}") from e
    try:
        return read_run(run_dir, summary, records)
    except KeyError as e:
        raise UsageError(f"{run_dir}: run.json or results.json lacks {e}") from e


def read_run(run_dir: Path, summary: dict, records: list[dict]) -> RunRecord:
    """The run of run.json's summary and results.json's records."""
    run = RunInfo(
        run_dir.name,
        *run_times(run_dir.name, summary),
        kind="run",
        results_dir=str(run_dir),
        complete=bool(summary["complete"]),
        host=summary.get("host", ""),
        lab=summary.get("lab", ""),
    )
    entries = [entry for entry in summary["arches"] if entry["arch"] in ARCHES]
    silent = len(entries) < len(summary["arches"])  # its records' arch is unknown too
    records = [r for r in records if r["arch"] in ARCHES or not silent]
    strays = sorted({r["arch"] for r in records} - {entry["arch"] for entry in entries})
    if strays:
        raise UsageError(
            f"{run_dir}/results.json has records of arches run.json does not "
            f"list: {', '.join(strays)}"
        )
    cells, results = [], []
    for entry in entries:
        own = [r for r in records if belongs(r, entry)]
        cell = read_cell(run_dir, run.run_id, summary, entry, own)
        if any(other.key == cell.key for other in cells):
            raise UsageError(
                f"{run_dir}: two of its targets are the cell {cell.key}: give the "
                "machines different host names"
            )
        cells.append(cell)
        results += read_results(cell, entry, own)
    return RunRecord(run, tuple(cells), tuple(results))


def target_of(entry: dict) -> str:
    """The remote target an entry of run.json ran on, as given ('' for a lab guest)."""
    return entry.get("target", "").partition(" ")[0]


def part_of(record: dict) -> str | None:
    """The target a record names (None: written before records named it)."""
    return record.get("target")


def belongs(record: dict, entry: dict) -> bool:
    """Whether a record is of an entry: the same arch and, when the record names its target
    (several targets of one arch in a run), the same target."""
    part = part_of(record)
    return record["arch"] == entry["arch"] and (part is None or part == target_of(entry))


def run_times(run_id: str, summary: dict) -> tuple[str, str]:
    """When the run started (run.json's "started", else its directory's name) and ended."""
    started = summary.get("started")
    if not started:
        match = RUN_ID.fullmatch(run_id)
        if not match:
            raise UsageError(
                f"run {run_id}: run.json has no start time and the directory's "
                "name is not a run id (YYYYmmdd-HHMMSS)"
            )
        started = datetime.strptime(match[1], "%Y%m%d-%H%M%S").isoformat()
    finished = datetime.fromisoformat(started) + timedelta(seconds=summary["duration_s"])
    return started, finished.isoformat(timespec="seconds")


def kernel_of(entry: dict) -> KernelIdentity:
    """The kernel an arch of the run ran, from run.json or the cached build's metadata."""
    build_id, release = entry.get("build_id", ""), entry.get("release", "")
    if entry.get("source"):
        return KernelIdentity(
            entry["source"],
            entry.get("series", ""),
            entry.get("patches_hash", ""),
            entry.get("config_hash", ""),
            build_id,
            release,
        )
    try:
        build = load_build(build_id, check=False) if build_id else None
    except (UsageError, InfraError):
        build = None
    if build is None or not build.source:
        return KernelIdentity(UNKNOWN_SOURCE, build_id=build_id, release=release)
    return KernelIdentity(
        build.source, build.series, build.patches_hash, build.config_hash, build_id, release
    )


def build_state(entry: dict, records: list[dict]) -> BuildState:
    """ok when the arch had a kernel; fail when its build failed (its records are infra
    records saying "build: ..."); else infra."""
    if entry.get("build_id") or (entry.get("target") and entry.get("release")):
        return "ok"
    if records and records[0]["state"] == "infra" and records[0]["message"].startswith("build:"):
        return "fail"
    return "infra"


def logs_of(run_dir: Path, entry: dict) -> tuple[list[str], str]:
    """The arch's console logs (one per boot, in order) and kernel log, relative to run_dir."""
    if "console_logs" in entry:
        return entry["console_logs"], entry.get("kernel_log", "")
    arch_dir = run_dir / entry["arch"]
    consoles = sorted(
        arch_dir.glob("boot*-console.log"), key=lambda p: int(re.sub(r"\D", "", p.name) or 0)
    )
    kernel_log = arch_dir / "kernel.log"
    return (
        [str(p.relative_to(run_dir)) for p in consoles],
        str(kernel_log.relative_to(run_dir)) if kernel_log.exists() else "",
    )


def read_cell(
    run_dir: Path, run_id: str, summary: dict, entry: dict, records: list[dict]
) -> CellInfo:
    """One arch of the run as a cell."""
    identity = kernel_of(entry)
    variant = variant_for(entry["arch"], summary.get("mmu", ""))
    kernel = kernel_name(identity.source, identity.series, entry.get("flavour", ""))
    duration_s = int(summary.get("suite_duration_s", 0))
    consoles, kernel_log = logs_of(run_dir, entry)
    return CellInfo(
        run_id=run_id,
        key=cell_key(kernel, variant.name, summary["pressure"], duration_s),
        kernel=kernel,
        identity=identity,
        arch=variant.arch,
        mmu=variant.mmu,
        pressure=summary["pressure"],
        seed=int(summary["seed"]),
        duration_s=duration_s,
        build_state=build_state(entry, records),
        build_log=entry.get("build_log", ""),
        console_log=consoles[0] if consoles else "",
        kernel_log=kernel_log,
        tools=entry.get("tools", ""),
    )


def read_results(cell: CellInfo, entry: dict, records: list[dict]) -> list[ResultRow]:
    """The arch's records as result rows: the n-th record of a case is its attempt n; a record
    gets the console log of the boot it ran in when run.json says which that was."""
    consoles = entry.get("console_logs", [])
    starts = entry.get("boot_records", [])
    seen: Counter[tuple[str, str]] = Counter()
    rows = []
    for index, r in enumerate(records):
        seen[r["suite"], r["case"]] += 1
        boot = bisect_right(starts, index) - 1
        ran = 0 <= boot < len(consoles)
        rows.append(
            ResultRow(
                run_id=cell.run_id,
                cell=cell.key,
                suite=r["suite"],
                case=r["case"],
                attempt=seen[r["suite"], r["case"]],
                state=r["state"],
                duration_s=float(r["duration_s"]),
                message=r["message"],
                details=r["details"],
                console_log=consoles[boot] if ran else "",
                kernel_log=cell.kernel_log if ran else "",
            )
        )
    return rows
