"""The matrix table of a run: a row per cell (kernel x arch variant x pressure), a column per
suite, each entry counting its cases' states and coloured by the worst of them."""

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from lab.history.compare import case_states
from lab.history.model import CellInfo, RunRecord
from lab.results.records import State

SEVERITY: tuple[State, ...] = ("fail", "infra", "skip", "pass")  # worst first


def worst_state(states: Iterable[State]) -> State | None:
    """The worst of the states (fail, infra, skip, pass); None when there are none."""
    present = set(states)
    return next((s for s in SEVERITY if s in present), None)


@dataclass(frozen=True)
class MatrixEntry:
    """The cases of one suite in one cell: how many ended in each state."""

    counts: tuple[tuple[State, int], ...]  # the states present, worst first

    @classmethod
    def of(cls, states: Iterable[State]) -> "MatrixEntry":
        """The entry of these case states."""
        return cls.counted(Counter(states))

    @classmethod
    def counted(cls, counts: Counter[State]) -> "MatrixEntry":
        return cls(tuple((s, counts[s]) for s in SEVERITY if counts[s]))

    @property
    def worst(self) -> State | None:
        """None: the suite did not run in the cell."""
        return self.counts[0][0] if self.counts else None

    @property
    def total(self) -> int:
        return sum(n for _, n in self.counts)

    def count(self, state: State) -> int:
        return dict(self.counts).get(state, 0)

    @property
    def label(self) -> str:
        """'2 fail, 10 pass', or 'not run'."""
        return ", ".join(f"{n} {s}" for s, n in self.counts) or "not run"


@dataclass(frozen=True)
class MatrixRow:
    """One cell of the run, an entry per suite column."""

    cell: CellInfo
    entries: tuple[MatrixEntry, ...]

    @property
    def total(self) -> MatrixEntry:
        """Every case of the cell."""
        counts: Counter[State] = Counter()
        for entry in self.entries:
            counts.update(dict(entry.counts))
        return MatrixEntry.counted(counts)


@dataclass(frozen=True)
class MatrixTable:
    """Suites in the order the run first ran them; cells in the run's order."""

    suites: tuple[str, ...]
    rows: tuple[MatrixRow, ...]


def matrix_table(record: RunRecord) -> MatrixTable:
    """The run's matrix; a case counts once, in its state over its attempts."""
    states = case_states(record)
    suites = tuple(dict.fromkeys(suite for _, suite, _ in states))
    rows = []
    for cell in record.cells:
        per_suite = {
            suite: [
                state for (key, s, _), state in states.items() if key == cell.key and s == suite
            ]
            for suite in suites
        }
        rows.append(MatrixRow(cell, tuple(MatrixEntry.of(per_suite[s]) for s in suites)))
    return MatrixTable(suites, tuple(rows))
