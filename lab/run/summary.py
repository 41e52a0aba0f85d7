"""The terminal summary of a run: what failed or could not run first, each with its one-line
reason, then the counts per arch and suite; the whole table of cases on request."""

from collections import Counter
from pathlib import Path

from rich.console import Console
from rich.table import Table

from lab.results.records import STATES, CaseRecord
from lab.run.lab_run import ArchRun
from lab.terminal import STYLE
from lab.terminal import console as default_console

SHOWN_PROBLEMS = 20  # failures and infra results listed; the rest are counted


def case_table(runs: list[ArchRun], title: str) -> Table:
    """Every case of the run."""
    table = Table(title=title)
    for column in ("arch", "suite", "case", "state", "message"):
        table.add_column(column)
    for r in (r for run in runs for r in run.records):
        table.add_row(r.arch, r.suite, r.case, f"[{STYLE[r.state]}]{r.state}[/]", r.message[:80])
    return table


def count_table(runs: list[ArchRun]) -> Table:
    """Cases per arch and suite, by state."""
    table = Table(title="cases per arch and suite")
    for column in ("arch", "suite", *STATES):
        table.add_column(column, justify="right" if column in STATES else "left")
    for run in runs:
        suites: dict[str, Counter[str]] = {}
        for r in run.records:
            suites.setdefault(r.suite, Counter())[r.state] += 1
        for suite, counts in suites.items():
            cells = [
                f"[{STYLE[s]}]{counts[s]}[/]" if counts[s] and s != "pass" else str(counts[s])
                for s in STATES
            ]
            table.add_row(run.arch, suite, *cells)
    return table


def problems(runs: list[ArchRun]) -> list[CaseRecord]:
    """Failures, then infra results."""
    records = [r for run in runs for r in run.records]
    return [r for r in records if r.state == "fail"] + [r for r in records if r.state == "infra"]


def print_summary(
    runs: list[ArchRun],
    run_dir: Path,
    report: Path | None = None,
    verbose: bool = False,
    console: Console | None = None,
) -> None:
    """The summary a person reads after `lab run` (the full table with `verbose`)."""
    console = console or default_console()
    run_dir = run_dir.resolve()  # a path to copy from anywhere, whatever --results was
    report = report.resolve() if report is not None else None
    if verbose:
        console.print(case_table(runs, f"faultlab run {run_dir.name}"))
    found = problems(runs)
    for r in found[:SHOWN_PROBLEMS]:
        console.print(
            f"[{STYLE[r.state]}]{r.state.upper()}[/] {r.arch} {r.suite}/{r.case}: "
            f"{r.message[:120]}",
            highlight=False,
        )
    if len(found) > SHOWN_PROBLEMS:
        console.print(f"... and {len(found) - SHOWN_PROBLEMS} more (lab run -v shows them all)")
    console.print(count_table(runs))
    for run in runs:
        boots = ", ".join(f"{b:.1f}s" for b in run.boot_s) or "-"
        where = (
            f"target {run.target}"
            if run.target
            else f"kernel {run.build_id or '-'} ({run.release or '-'}), boot {boots}"
        )
        console.print(f"{run.arch}: {where}", highlight=False, soft_wrap=True)
    # paths are never wrapped, whatever the width: they are copied and parsed
    console.print(
        f"results: {run_dir}/results.json, {run_dir}/junit.xml", highlight=False, soft_wrap=True
    )
    if report is not None:
        console.print(f"report: {report}", highlight=False, soft_wrap=True)
