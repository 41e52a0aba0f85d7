"""JUnit XML of a whole run with its cells kept apart: the cell key prefixes every testsuite
and classname ('debian-6.1/ppc64-hash/heavy.fault'), written by lab.results.junit."""

from pathlib import Path

from lab.history.model import RunRecord
from lab.results.junit import write_junit
from lab.results.records import CaseRecord


def cell_records(record: RunRecord) -> list[CaseRecord]:
    """Every attempt of the run as a record whose arch is its cell key."""
    return [
        CaseRecord(
            row.cell, row.suite, row.case, row.state, row.duration_s, row.message, row.details
        )
        for row in record.results
    ]


def write_run_junit(record: RunRecord, path: Path) -> None:
    write_junit(cell_records(record), path)
