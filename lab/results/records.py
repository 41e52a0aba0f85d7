"""Per-case result records of a run, and their JSON form (results.json)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from lab import files

State = Literal["pass", "fail", "skip", "infra"]
STATES: tuple[State, ...] = ("pass", "fail", "skip", "infra")


@dataclass(frozen=True)
class CaseRecord:
    """The outcome of one case of one suite on one arch.

    state is "fail" for failed and crashed cases and kernel problems, and
    "infra" when the lab itself could not run the case (build, boot, agent). A run on
    several targets of one arch tells their records apart by `target`.
    """

    arch: str
    suite: str
    case: str
    state: State
    duration_s: float
    message: str  # one line: why it failed, was skipped or could not run
    details: str  # diagnostics, kernel reports, logs
    target: str = ""  # the remote target it ran on, as given (ssh://...); '' for a lab guest

    def __post_init__(self) -> None:
        if self.state not in STATES:
            raise ValueError(f"state {self.state!r} is not one of {', '.join(STATES)}")


@dataclass(frozen=True)
class RunStatus:
    """Whether the records are all of a run, or what interrupted it ('SIGTERM', ...)."""

    complete: bool = True
    interrupted: str = ""


COMPLETE = RunStatus()


def write_results_json(
    records: Iterable[CaseRecord], path: Path, status: RunStatus = COMPLETE
) -> None:
    """Replace `path` whole with {"records": [...], "complete": ..., "interrupted": ...},
    one object per record, in order ("target" only in a remote target's records)."""
    data = {
        "records": [
            {k: v for k, v in asdict(record).items() if k != "target" or v} for record in records
        ],
        "complete": status.complete,
        "interrupted": status.interrupted,
    }
    files.write_text(path, json.dumps(data, indent=2) + "\n")
