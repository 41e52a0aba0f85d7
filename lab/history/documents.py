"""JSON documents of the history's views, for scripts: a case's runs and their
classification, two runs compared, one run across arch variants, runs imported.

They hold what the tables show and more (every attempt, each kernel's identity), as plain
dicts and lists (dataclasses.asdict of the history's records), for json.dumps.
"""

from collections import Counter
from dataclasses import asdict
from itertools import groupby
from pathlib import Path

from lab.history.classify import MEANING, Verdict, classify, describe, outcome_of
from lab.history.compare import CaseChange, CrossArchTable
from lab.history.model import CaseRun, RunInfo, RunRecord


def case_history_document(test: str, history: list[CaseRun], last: int) -> dict:
    """Per cell: the case's newest `last` runs, and the classification of the newest one
    from all of them."""
    cells = []
    for key, runs in groupby(history, key=lambda run: run.cell.key):
        runs = list(runs)
        cells.append(
            {
                "cell": key,
                "runs": [case_run_entry(run) for run in runs[-last:]],
                "classification": verdict_entry(classify([outcome_of(r) for r in runs])),
            }
        )
    return {"test": test, "cells": cells}


def case_run_entry(run: CaseRun) -> dict:
    """One run of the case in one cell."""
    return {
        "run_id": run.run.run_id,
        "started": run.run.started,
        "kind": run.run.kind,
        "state": run.state,
        "message": next((a.message for a in run.attempts if a.message), ""),
        "duration_s": sum(a.duration_s for a in run.attempts),
        "kernel": asdict(run.cell.identity),
        "tools": run.cell.tools,
        "attempts": [asdict(a) for a in run.attempts],
    }


def verdict_entry(verdict: Verdict) -> dict:
    """The classification: its kind, what it means, the line `lab history` prints, and for a
    regression the last good run and the kernels since."""
    return {
        **asdict(verdict),
        "meaning": MEANING[verdict.kind],
        "description": describe(verdict),
        "suspect_kernels": [asdict(k) for k in verdict.suspect_kernels],
        "changed_tools": list(verdict.changed_tools) if verdict.changed_tools else None,
    }


def compare_document(a: RunInfo, b: RunInfo, changes: list[CaseChange], changed_only: bool) -> dict:
    """Runs A and B and every (cell, case) with its state in each and the kind of change
    (unchanged ones left out with `changed_only`); the counts are of all of them."""
    return {
        "compare": "runs",
        "a": asdict(a),
        "b": asdict(b),
        "changes": [
            {**asdict(change), "kind": change.kind}
            for change in changes
            if not (changed_only and change.kind == "same")
        ],
        "counts": dict(Counter(change.kind for change in changes)),
    }


def cross_arch_document(run: RunInfo, table: CrossArchTable) -> dict:
    """One run's cases with their state per arch variant (None: not run there)."""
    variants = [column.variant for column in table.columns]
    return {
        "compare": "arch variants",
        "run": asdict(run),
        "variants": [asdict(column) for column in table.columns],
        "cases": [
            {
                "kernel": row.kernel,
                "pressure": row.pressure,
                "duration_s": row.duration_s,
                "suite": row.suite,
                "case": row.case,
                "states": dict(zip(variants, row.states, strict=True)),
                "divergent": row.divergent,
            }
            for row in table.rows
        ],
        "divergent": len(table.divergent),
    }


def import_document(history: Path, records: list[RunRecord]) -> dict:
    """The runs `lab history --import` added: each with its cells and number of results."""
    return {
        "history": str(history),
        "imported": [
            {
                "run_id": record.run.run_id,
                "cells": [cell.key for cell in record.cells],
                "results": len(record.results),
            }
            for record in records
        ],
    }
