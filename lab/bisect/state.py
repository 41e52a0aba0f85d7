"""A bisect's state, saved after every step: `<cache>/bisect/<id>/state.json`.

The file is replaced atomically (a temporary file, then os.replace), so an interrupted
bisect always finds the state of its last finished step and resumes from there.
"""

import fcntl
import hashlib
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

from lab import paths
from lab.bisect.policy import RunResult, Verdict
from lab.errors import UsageError

Kind = Literal["git", "series"]
Role = Literal["bad end", "bisect", "culprit", "parent"]
ResultKind = Literal[
    "confirmed", "unconfirmed", "identical", "ambiguous", "not-reproduced", "untestable"
]
STATE_FILE = "state.json"


@dataclass
class Step:
    """One candidate tested: its build and its runs, and the verdict on them."""

    number: int
    role: Role
    candidate: str  # a commit id, or the number of patches applied
    label: str
    verdict: Verdict
    reason: str
    build_id: str = ""
    build_error: str = ""  # why it did not build: the error's kind and first line
    build_details: str = ""  # the compiler errors, the hunk that does not apply
    build_log: str = ""
    kernel_digest: str = ""  # sha256 of the boot image and vmlinux
    build_s: float = 0.0
    duration_s: float = 0.0
    runs: list[RunResult] = field(default_factory=list)


@dataclass
class Result:
    """How the bisect ended."""

    kind: ResultKind
    message: str
    culprit: str = ""
    could_be: list[str] = field(default_factory=list)


@dataclass
class BisectState:
    """Everything a bisect needs to resume, and what it found so far."""

    id: str
    kind: Kind
    arch: str  # an arch variant: x86_64, ppc64, ppc64-hash
    test: str  # suite/program/case
    good: str
    bad: str
    repeat: int
    repeat_reason: str = ""
    titles: list[str] = field(default_factory=list)  # the signature's kernel reports
    source: str = ""  # series: the source the series applies to
    tree: str = ""  # git: the tree holding the commits
    series: str = ""  # series: the folder or mbox
    flavour: str = "tiny"
    fragments: list[str] = field(default_factory=list)
    jobs: int = 1
    pressure: str = "none"
    timeout_s: float = 0.0  # per run; 0: the program's own
    seed: int = 0
    duration_s: int = 0  # the suite knob `--duration`
    command: str = ""  # the command line that started it
    created: str = ""
    steps: list[Step] = field(default_factory=list)
    result: Result | None = None

    @property
    def dir(self) -> Path:
        return bisect_root() / self.id

    def step(self, role: Role) -> Step | None:
        """The (last) step of a role: the bad end's check, the culprit's or parent's re-run."""
        return next((s for s in reversed(self.steps) if s.role == role), None)


def bisect_root() -> Path:
    return paths.cache_dir("bisect")


@contextmanager
def bisect_lock(state: BisectState) -> Iterator[None]:
    """Hold the bisect's lock, or fail at once: one process drives a bisect at a time."""
    state.dir.mkdir(parents=True, exist_ok=True)
    with open(state.dir / "lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UsageError(f"bisect {state.id} is running in another process") from None
        yield


def new_id(description: dict) -> str:
    """'<timestamp>-<hash of what is bisected>', e.g. 20261123-101500-3fa2c1d9."""
    digest = hashlib.sha256(json.dumps(description, sort_keys=True).encode()).hexdigest()[:8]
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{digest}"


def save_state(state: BisectState) -> Path:
    """Write state.json atomically; returns its path."""
    state.dir.mkdir(parents=True, exist_ok=True)
    path = state.dir / STATE_FILE
    tmp = path.with_name(f".{STATE_FILE}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(asdict(state), indent=2) + "\n")
    os.replace(tmp, path)
    return path


def load_state(ref: str) -> BisectState:
    """A saved bisect by id (or a unique prefix of it)."""
    matches = sorted(d for d in bisect_root().glob(f"{ref}*") if (d / STATE_FILE).is_file())
    if len(matches) != 1:
        what = "no bisect" if not matches else f"{len(matches)} bisects"
        raise UsageError(f"{what} matching {ref!r} in {bisect_root()}")
    return state_from_dict(json.loads((matches[0] / STATE_FILE).read_text()))


def state_from_dict(data: dict) -> BisectState:
    """The inverse of dataclasses.asdict for a BisectState."""
    return BisectState(
        **{
            **data,
            "steps": [_step(s) for s in data["steps"]],
            "result": Result(**data["result"]) if data["result"] else None,
        }
    )


def _step(data: dict) -> Step:
    runs = [RunResult(**{**r, "problems": tuple(r["problems"])}) for r in data["runs"]]
    return Step(**{**data, "runs": runs})


@dataclass
class Journal:
    """Records a bisect's steps: each one is saved as soon as it ends."""

    state: BisectState

    def next_number(self) -> int:
        return len(self.state.steps) + 1

    def step_dir(self, role: Role, candidate: str) -> Path:
        """Where the next step's runs go: steps/<number>-<role>-<candidate>/."""
        name = f"{self.next_number():02d}-{role.replace(' ', '-')}-{candidate[:12]}"
        return self.state.dir / "steps" / name

    def record(self, step: Step) -> None:
        self.state.steps.append(step)
        save_state(self.state)
