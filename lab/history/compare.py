"""Comparisons within the history: two runs case by case, and one run across arch variants."""

from collections.abc import Sequence
from dataclasses import dataclass

from lab.arch.variants import ArchVariant
from lab.history.model import RunRecord, combined_state
from lab.results.records import State

# Changes first: what broke, what was fixed, what came and went; then other state changes.
CHANGE_ORDER = ("pass->fail", "fail->pass", "appeared", "disappeared")


def case_states(record: RunRecord) -> dict[tuple[str, str, str], State]:
    """(cell, suite, case) -> the case's state over its attempts, in the run's order."""
    attempts: dict[tuple[str, str, str], list[State]] = {}
    for row in record.results:
        attempts.setdefault((row.cell, row.suite, row.case), []).append(row.state)
    return {key: combined_state(states) for key, states in attempts.items()}


@dataclass(frozen=True)
class CaseChange:
    """One case of one cell in runs A and B (None: not in that run)."""

    cell: str
    suite: str
    case: str
    a: State | None
    b: State | None

    @property
    def kind(self) -> str:
        """'pass->fail', 'fail->pass', 'appeared', 'disappeared', another 'a->b', or 'same'."""
        if self.a is None:
            return "appeared"
        if self.b is None:
            return "disappeared"
        return "same" if self.a == self.b else f"{self.a}->{self.b}"

    @property
    def rank(self) -> int:
        kind = self.kind
        if kind in CHANGE_ORDER:
            return CHANGE_ORDER.index(kind)
        return len(CHANGE_ORDER) + (kind == "same")


def compare_runs(a: RunRecord, b: RunRecord) -> list[CaseChange]:
    """Every (cell, case) of either run with its state in A and in B: changes first (in
    CHANGE_ORDER, then other state changes), unchanged cases last; run order within each."""
    states_a, states_b = case_states(a), case_states(b)
    keys = list(states_b) + [key for key in states_a if key not in states_b]
    changes = [CaseChange(*key, states_a.get(key), states_b.get(key)) for key in keys]
    return sorted(changes, key=lambda change: change.rank)


@dataclass(frozen=True)
class ArchColumn:
    """One arch variant of a cross-arch table, with its page size."""

    variant: str
    page_size: int

    @property
    def header(self) -> str:
        return f"{self.variant} ({self.page_size // 1024}K pages)"


@dataclass(frozen=True)
class CrossArchRow:
    """One case of one kernel under one pressure profile, its state per arch variant."""

    kernel: str
    pressure: str
    duration_s: int
    suite: str
    case: str
    states: tuple[State | None, ...]  # per column; None: not run on that variant

    @property
    def divergent(self) -> bool:
        """It passes on one arch variant and fails on another."""
        return "pass" in self.states and "fail" in self.states

    @property
    def condition(self) -> str:
        """'heavy', or 'heavy/600s' for a cell that soaked."""
        return f"{self.pressure}/{self.duration_s}s" if self.duration_s else self.pressure


@dataclass(frozen=True)
class CrossArchTable:
    """One run's cases side by side on arch variants."""

    columns: tuple[ArchColumn, ...]
    rows: tuple[CrossArchRow, ...]  # divergent rows first

    @property
    def divergent(self) -> tuple[CrossArchRow, ...]:
        return tuple(row for row in self.rows if row.divergent)


def cross_arch(record: RunRecord, variants: Sequence[ArchVariant]) -> CrossArchTable:
    """One run's cases side by side on `variants`: a row per (kernel, pressure, duration,
    suite/case), divergent rows first, run order within each."""
    columns = tuple(ArchColumn(v.name, v.page_size) for v in variants)
    names = [v.name for v in variants]
    cells = {c.key: c for c in record.cells}
    table: dict[tuple, list[State | None]] = {}
    for (key, suite, case), state in case_states(record).items():
        cell = cells[key]
        if cell.variant not in names:
            continue
        row = table.setdefault(
            (cell.kernel, cell.pressure, cell.duration_s, suite, case), [None] * len(columns)
        )
        row[names.index(cell.variant)] = state
    rows = [CrossArchRow(*key, tuple(states)) for key, states in table.items()]
    return CrossArchTable(columns, tuple(sorted(rows, key=lambda row: not row.divergent)))
