"""Gathering a run's report from the history: classification, matrix, cross-arch table,
failures and the plots of the cases that need one."""

from collections.abc import Mapping, Sequence
from pathlib import Path

from lab.arch.variants import VARIANTS
from lab.history.compare import cross_arch
from lab.history.model import RunRecord
from lab.history.store import HistoryStore
from lab.report.failures import failures, infra_groups
from lab.report.links import log_links
from lab.report.matrix import matrix_table
from lab.report.model import Plot, RunReport
from lab.report.plots import data_uri, trend_png
from lab.report.trends import LAST_RUNS, case_trend, plotted_cases
from lab.report.verdicts import classify_run, earlier_runs


def assemble(
    record: RunRecord,
    earlier: Mapping[str, Sequence[RunRecord]],
    run_dir: Path,
    last: int = LAST_RUNS,
) -> RunReport:
    """The report of `record`, given each cell's runs before it (oldest first); links point
    into `run_dir`, plots cover the newest `last` runs of a cell."""
    if last < 1:
        raise ValueError(f"plots cover at least one run, not {last}")
    verdicts = classify_run(record, earlier)
    plots = []
    for choice in plotted_cases(verdicts):
        verdict = choice.verdict
        runs = [*earlier.get(verdict.cell.key, ()), record][-last:]
        trend = case_trend(runs, verdict.cell.key, verdict.suite, verdict.case)
        plots.append(Plot(trend, choice.why, data_uri(trend_png(trend))))
    return RunReport(
        record=record,
        verdicts=verdicts,
        matrix=matrix_table(record),
        cross_arch=cross_arch(record, tuple(VARIANTS.values())),
        failures=failures(verdicts, run_dir),
        infra=infra_groups(record),
        plots=tuple(plots),
        last=last,
        cell_logs={cell.key: log_links(run_dir, cell) for cell in record.cells},
    )


def collect_report(
    db: HistoryStore, record: RunRecord, run_dir: Path, last: int = LAST_RUNS
) -> RunReport:
    """The report of a run of the history, classified against its cells' earlier runs."""
    return assemble(record, earlier_runs(db, record), run_dir, last)
