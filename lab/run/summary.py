"""The terminal summary of a run."""

from collections import Counter

from rich.console import Console
from rich.table import Table

from lab.run.lab_run import ArchRun
from lab.terminal import STYLE
from lab.terminal import console as default_console


def print_summary(runs: list[ArchRun], run_dir, console: Console | None = None) -> None:
    """A table of every case, then counts per arch and the report location."""
    console = console or default_console()
    table = Table(title=f"faultlab run {run_dir.name}")
    for column in ("arch", "suite", "case", "state", "message"):
        table.add_column(column)
    for run in runs:
        for r in run.records:
            table.add_row(
                r.arch, r.suite, r.case, f"[{STYLE[r.state]}]{r.state}[/]", r.message[:80]
            )
    console.print(table)
    for run in runs:
        counts = Counter(r.state for r in run.records)
        boots = ", ".join(f"{b:.1f}s" for b in run.boot_s) or "-"
        where = (
            f"target {run.target}"
            if run.target
            else f"kernel {run.build_id or '-'} ({run.release or '-'}), boot {boots}"
        )
        console.print(
            f"{run.arch}: {where}: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
        )
    print(f"report: {run_dir}/results.json, {run_dir}/junit.xml", flush=True)
