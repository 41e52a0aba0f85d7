"""`lab nightly`: one night under the lock, recorded in the history, reported, pruned."""

from dataclasses import dataclass
from pathlib import Path

from lab import paths
from lab.history.store import HistoryStore
from lab.nightly.driver import NightlyOptions, run_night
from lab.nightly.matrix import load_matrix
from lab.nightly.upkeep import disk_usage, nightly_lock, prune_nights
from lab.progress import note
from lab.report.collect import collect_report
from lab.report.terminal import summary_view
from lab.report.write import write_report
from lab.run.jobs import Runtime
from lab.terminal import console


@dataclass(frozen=True)
class NightlyJob:
    """A `lab nightly` invocation."""

    matrix: Path
    options: NightlyOptions
    runtime: Runtime  # where its jobs run: here, or on a worker pool
    history: Path | None = None  # default: the matrix's, else the user's history
    keep: int = 30  # nights whose results directories are kept


def nightly(job: NightlyJob) -> int:
    """Run the night; the exit status is the report's: 1 when there are new regressions."""
    matrix = load_matrix(job.matrix)
    history = job.history or matrix.history or paths.history_path()
    with nightly_lock():
        night_dir, record = run_night(matrix, job.options, job.runtime)
        with HistoryStore(history) as db:
            db.write_run(record)
            report = collect_report(db, record, night_dir)
        files = write_report(report, night_dir)
        for old in prune_nights(job.options.results_root, job.keep):
            note(f"nightly: removed the results of {old.name} (kept the newest {job.keep})")
    console().print(summary_view(report, files), soft_wrap=True)
    note(disk_usage(job.options.results_root, history).describe())
    note(f"nightly {record.run.run_id}: history {history}, report {files.html}")
    return report.exit_status
