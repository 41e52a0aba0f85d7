"""Every case of a run classified against the earlier runs of its cell (lab.history.classify),
regressions first."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from lab.history.classify import Kind, Outcome, Verdict, classify
from lab.history.model import CellInfo, ResultRow, RunRecord, combined_state
from lab.history.store import HistoryStore
from lab.results.records import State

# The order of the report: what broke, what was fixed, what flips, then the rest.
KIND_ORDER: tuple[Kind, ...] = (
    "regression",
    "fix",
    "flaky",
    "new-failure",
    "still-failing",
    "untested",
    "new",
    "stable",
)


@dataclass(frozen=True)
class CaseVerdict:
    """One case of one cell in the run: its attempts and the class of its outcome."""

    cell: CellInfo
    attempts: tuple[ResultRow, ...]
    verdict: Verdict

    @property
    def suite(self) -> str:
        return self.attempts[0].suite

    @property
    def case(self) -> str:
        return self.attempts[0].case

    @property
    def test(self) -> str:
        """'suite/case', as `lab history --test` takes it."""
        return self.attempts[0].test

    @property
    def kind(self) -> Kind:
        return self.verdict.kind

    @property
    def state(self) -> State:
        return combined_state(a.state for a in self.attempts)

    @property
    def message(self) -> str:
        """The message of the first attempt in the case's state that has one."""
        own = [a.message for a in self.attempts if a.state == self.state and a.message]
        return own[0] if own else ""

    @property
    def duration_s(self) -> float:
        return sum(a.duration_s for a in self.attempts)


def case_attempts(record: RunRecord, cell: str) -> dict[tuple[str, str], list[ResultRow]]:
    """(suite, case) -> the case's attempts in one cell of a run, in run order."""
    attempts: dict[tuple[str, str], list[ResultRow]] = {}
    for row in record.results:
        if row.cell == cell:
            attempts.setdefault((row.suite, row.case), []).append(row)
    return attempts


def classify_run(
    record: RunRecord, earlier: Mapping[str, Sequence[RunRecord]]
) -> tuple[CaseVerdict, ...]:
    """Classify every case of the run; `earlier` holds, per cell key, the cell's runs before
    this one, oldest first. The result is in KIND_ORDER, run order within a kind."""
    verdicts = []
    for cell in record.cells:
        history = [*earlier.get(cell.key, ()), record]
        outcomes: dict[tuple[str, str], list[Outcome]] = {}
        for run in history:
            info = next(c for c in run.cells if c.key == cell.key)
            for key, rows in case_attempts(run, cell.key).items():
                states = tuple(r.state for r in rows)
                outcome = Outcome(run.run.run_id, states, info.identity, info.tools)
                outcomes.setdefault(key, []).append(outcome)
        for key, rows in case_attempts(record, cell.key).items():
            verdicts.append(CaseVerdict(cell, tuple(rows), classify(outcomes[key])))
    return tuple(sorted(verdicts, key=lambda v: KIND_ORDER.index(v.kind)))


def of_kind(verdicts: Sequence[CaseVerdict], kind: Kind) -> tuple[CaseVerdict, ...]:
    return tuple(v for v in verdicts if v.kind == kind)


def runs_before(runs: Sequence[RunRecord], run_id: str) -> list[RunRecord]:
    """The runs (oldest first) that came before `run_id`; all of them if it is not among
    them."""
    ids = [r.run.run_id for r in runs]
    return list(runs[: ids.index(run_id)] if run_id in ids else runs)


def earlier_runs(db: HistoryStore, record: RunRecord) -> dict[str, list[RunRecord]]:
    """Per cell of the run, the cell's runs in the history before this one, oldest first."""
    return {
        cell.key: runs_before(db.cell_runs(cell.key), record.run.run_id) for cell in record.cells
    }
