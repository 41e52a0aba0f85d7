"""A case over the last runs of its cell, the data of the report's plots, and which cases get
a plot."""

from collections.abc import Sequence
from dataclasses import dataclass, replace

from lab.history.model import RunRecord, combined_state
from lab.report.verdicts import CaseVerdict
from lab.results.records import State

LAST_RUNS = 20  # runs of the cell a plot shows, the reported one included
SLOWEST = 3  # cases that did not fail, plotted for how long they took
MAX_PLOTS = 12


@dataclass(frozen=True)
class TrendPoint:
    """The case in one run of the cell (state None: it did not run there)."""

    run_id: str
    state: State | None
    duration_s: float
    passed: int  # attempts that passed
    failed: int

    @property
    def pass_rate(self) -> float | None:
        """The share of its pass and fail attempts that passed; None without either."""
        evidence = self.passed + self.failed
        return self.passed / evidence if evidence else None


@dataclass(frozen=True)
class Trend:
    """One case in one cell over runs, oldest first."""

    cell: str
    test: str
    points: tuple[TrendPoint, ...]
    timed: str = "case"  # 'program': the case has no time of its own, its program's is shown

    @property
    def runs_passed(self) -> tuple[int, int]:
        """(runs that passed, runs that passed or failed)."""
        states = [p.state for p in self.points if p.state in ("pass", "fail")]
        return states.count("pass"), len(states)


def program_record(case: str) -> str:
    """The record that carries a KTAP case's program run time: '<program>/kernel'."""
    return f"{case.partition('/')[0]}/kernel"


def case_trend(runs: Sequence[RunRecord], cell: str, suite: str, case: str) -> Trend:
    """The case in `cell` over `runs` (oldest first). KTAP cases have no run time of their
    own; then the trend shows their program's (its '<program>/kernel' record's)."""
    points, timings = [], []
    for run in runs:
        rows = [r for r in run.results if (r.cell, r.suite, r.case) == (cell, suite, case)]
        program = [
            r
            for r in run.results
            if (r.cell, r.suite, r.case) == (cell, suite, program_record(case))
        ]
        states = [r.state for r in rows]
        points.append(
            TrendPoint(
                run.run.run_id,
                combined_state(states) if rows else None,
                sum(r.duration_s for r in rows),
                states.count("pass"),
                states.count("fail"),
            )
        )
        timings.append(sum(r.duration_s for r in program))
    if any(p.duration_s for p in points) or not any(timings):
        return Trend(cell, f"{suite}/{case}", tuple(points))
    points = [replace(p, duration_s=t) for p, t in zip(points, timings, strict=True)]
    return Trend(cell, f"{suite}/{case}", tuple(points), timed="program")


@dataclass(frozen=True)
class PlotChoice:
    """A case to plot and why: 'regression', 'failed' or 'slowest'."""

    verdict: CaseVerdict
    why: str


def plotted_cases(
    verdicts: Sequence[CaseVerdict], slowest: int = SLOWEST, limit: int = MAX_PLOTS
) -> tuple[PlotChoice, ...]:
    """The failed cases, regressions among them (in the order of `verdicts`), then the
    `slowest` longest running other cases; at most `limit`."""
    chosen = [
        PlotChoice(v, "regression" if v.kind == "regression" else "failed")
        for v in verdicts
        if v.state == "fail"
    ]
    rest = sorted(
        (v for v in verdicts if v.state != "fail" and v.duration_s > 0),
        key=lambda v: v.duration_s,
        reverse=True,
    )
    chosen += [PlotChoice(v, "slowest") for v in rest[:slowest]]
    return tuple(chosen[:limit])
