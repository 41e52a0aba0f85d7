"""The failures of a run with the kernel reports (oops, BUG, WARNING and their stack traces)
their details hold, and the cases that could not run, grouped by why."""

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from lab.history.classify import Kind
from lab.history.model import RunRecord
from lab.report.links import LogLink, log_links
from lab.report.verdicts import CaseVerdict
from lab.results.oracle import Problem, find_problems, load_allowlist, parse_kernel_log


def kernel_reports(details: str) -> tuple[Problem, ...]:
    """The kernel reports in a result's details, as the oracle finds them."""
    if not details.strip():
        return ()
    return tuple(find_problems(parse_kernel_log(details), load_allowlist()))


@dataclass(frozen=True)
class Failure:
    """One failed attempt of a case."""

    cell: str
    test: str
    attempt: int
    message: str
    details: str
    kind: Kind  # the class of the case's outcome in this run
    problems: tuple[Problem, ...]
    logs: tuple[LogLink, ...]


@dataclass(frozen=True)
class InfraGroup:
    """The cases of one cell that could not run for the same reason."""

    cell: str
    message: str
    tests: tuple[str, ...]


def failures(verdicts: Sequence[CaseVerdict], run_dir: Path) -> tuple[Failure, ...]:
    """Every failed attempt, in the order of `verdicts` (regressions first)."""
    return tuple(
        Failure(
            v.cell.key,
            v.test,
            a.attempt,
            a.message,
            a.details,
            v.kind,
            kernel_reports(a.details),
            log_links(run_dir, v.cell, a),
        )
        for v in verdicts
        for a in v.attempts
        if a.state == "fail"
    )


def infra_groups(record: RunRecord) -> tuple[InfraGroup, ...]:
    """The attempts that could not run, one group per (cell, message), in run order."""
    groups: dict[tuple[str, str], list[str]] = {}
    for row in record.results:
        if row.state == "infra":
            tests = groups.setdefault((row.cell, row.message), [])
            if row.test not in tests:
                tests.append(row.test)
    return tuple(
        InfraGroup(cell, message, tuple(tests)) for (cell, message), tests in groups.items()
    )
