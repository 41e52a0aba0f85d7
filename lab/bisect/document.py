"""A bisect as one JSON document, for scripts: its state (as state.json keeps it), the range,
each step's counts of evidence, the culprit, its failing run and the commands that
reproduce it."""

from dataclasses import asdict
from pathlib import Path

from lab.bisect.report import BisectReport, step_counts


def bisect_document(report: BisectReport, path: Path) -> dict:
    """The state's fields (id, kind, test, arch, good, bad, steps with their verdicts and
    runs, result, ...) and what the report adds to them."""
    state = report.state
    document = asdict(state)
    for step, entry in zip(state.steps, document["steps"], strict=True):
        failed, passed, none = step_counts(step, report)
        entry |= {"failed": failed, "passed": passed, "no_evidence": none}
    return {
        **document,
        "directory": str(state.dir),
        "range": report.range,
        "culprit": asdict(report.culprit) if report.culprit else None,
        "failing": asdict(report.failing) if report.failing else None,
        "reproduce": list(report.reproduce),
        "report": str(path),
    }
