"""Terminal tables of the history: a case's runs, two runs compared, one run across arches."""

from collections import Counter
from itertools import groupby

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from lab.history.classify import classify, describe, outcome_of
from lab.history.compare import CaseChange, CrossArchTable
from lab.history.model import CaseRun
from lab.terminal import STYLE

CHANGE_STYLE = {
    "pass->fail": "bold red",
    "fail->pass": "green",
    "appeared": "cyan",
    "disappeared": "yellow",
    "same": "dim",
}


def _state(state: str | None) -> str:
    return f"[{STYLE[state]}]{state}[/]" if state else "-"


def case_history_view(test: str, history: list[CaseRun], last: int) -> RenderableType:
    """Per cell: a table of the case's newest `last` runs, then what the whole history says
    about the newest one."""
    parts: list[RenderableType] = []
    for key, runs in groupby(history, key=lambda run: run.cell.key):
        runs = list(runs)
        table = Table(title=f"{test} in {key}")
        for column in ("run", "date", "kernel", "state", "duration", "message"):
            table.add_column(column)
        for run in runs[-last:]:
            states = [a.state for a in run.attempts]
            state = _state(run.state)
            if len(states) > 1:
                state += f" ({', '.join(states)})"
            message = next((a.message for a in run.attempts if a.message), "")
            table.add_row(
                run.run.run_id,
                run.run.started.replace("T", " "),
                Text(run.cell.identity.label()),
                state,
                f"{sum(a.duration_s for a in run.attempts):.1f}s",
                Text(message[:80]),
            )
        parts += [table, Text(describe(classify([outcome_of(r) for r in runs]))), Text("")]
    return Group(*parts)


def compare_view(
    run_a: str, run_b: str, changes: list[CaseChange], changed_only: bool
) -> RenderableType:
    """Every (cell, case) in runs A and B, changes first, and the count of each kind."""
    table = Table(title=f"{run_a} (A) -> {run_b} (B)")
    for column in ("cell", "case", "A", "B", "change"):
        table.add_column(column)
    for change in changes:
        if changed_only and change.kind == "same":
            continue
        style = CHANGE_STYLE.get(change.kind, "magenta")
        table.add_row(
            Text(change.cell),
            Text(f"{change.suite}/{change.case}"),
            _state(change.a),
            _state(change.b),
            f"[{style}]{change.kind}[/]",
        )
    counts = Counter(change.kind for change in changes)
    summary = ", ".join(f"{n} {kind}" for kind, n in counts.items()) or "no cases"
    return Group(table, Text(summary))


def cross_arch_view(run_id: str, table: CrossArchTable) -> RenderableType:
    """One run's cases per arch variant (with its page size), divergent rows first."""
    view = Table(title=f"{run_id} across arch variants")
    for column in ("kernel", "pressure", "case", *(c.header for c in table.columns), "divergence"):
        view.add_column(column)
    for row in table.rows:
        view.add_row(
            Text(row.kernel),
            Text(row.condition),
            Text(f"{row.suite}/{row.case}"),
            *map(_state, row.states),
            "[bold red]divergence[/]" if row.divergent else "",
        )
    summary = f"{len(table.divergent)} of {len(table.rows)} cases diverge between arch variants"
    return Group(view, Text(summary))
