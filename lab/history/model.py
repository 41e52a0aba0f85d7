"""The records of the history: runs, their cells (one kernel on one arch variant under one
pressure profile) and the cells' case results."""

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from lab.arch.variants import variant_for
from lab.results.records import STATES, State

RunKind = Literal["run", "nightly"]
BuildState = Literal["ok", "fail", "infra"]
RUN_KINDS: tuple[RunKind, ...] = ("run", "nightly")
BUILD_STATES: tuple[BuildState, ...] = ("ok", "fail", "infra")
# Which state a case had in a run when its attempts differ: any failure wins, then a pass.
STATE_PRECEDENCE: tuple[State, ...] = ("fail", "pass", "skip", "infra")


def kernel_name(source: str, series: str, flavour: str = "") -> str:
    """'debian-6.1', or 'debian-6.1+remap-drops-mlock' with a patch series; a kernel of
    another config flavour than tiny has it as a suffix: 'debian-6.1-debug'."""
    name = source if flavour in ("", "tiny") else f"{source}-{flavour}"
    return f"{name}+{Path(series).name}" if series else name


def cell_key(kernel: str, variant: str, pressure: str, duration_s: int = 0) -> str:
    """'debian-6.1/x86_64/heavy'; a cell that soaks for a duration ends in '/600s'."""
    key = f"{kernel}/{variant}/{pressure}"
    return f"{key}/{duration_s}s" if duration_s else key


def combined_state(states: Iterable[State]) -> State:
    """The state of a case over its attempts in one run: fail if any attempt failed, else pass
    if any passed, else skip if any skipped, else infra."""
    present = set(states)
    if not present:
        raise ValueError("a case has at least one attempt")
    return next(s for s in STATE_PRECEDENCE if s in present)


@dataclass(frozen=True)
class KernelIdentity:
    """What kernel a cell ran: its source and patch series, the hashes of its patches and
    final config, the build id (a hash over tree, config and toolchain) and its release."""

    source: str
    series: str = ""
    patches_hash: str = ""
    config_hash: str = ""
    build_id: str = ""
    release: str = ""

    def label(self) -> str:
        """'debian-6.1 6.1.192+ 5888a2b7ffedc4ab' (the parts that are known)."""
        parts = [kernel_name(self.source, self.series), self.release, self.build_id]
        return " ".join(p for p in parts if p)


@dataclass(frozen=True)
class RunInfo:
    """One run: a `lab run` results directory or one night of the matrix."""

    run_id: str  # the results directory's name
    started: str  # ISO 8601, local time
    finished: str
    kind: RunKind
    results_dir: str
    complete: bool
    matrix: str = ""
    host: str = ""
    lab: str = ""  # the faultlab that ran it: version and commit

    def __post_init__(self) -> None:
        if self.kind not in RUN_KINDS:
            raise ValueError(f"run kind {self.kind!r} is not one of {', '.join(RUN_KINDS)}")


@dataclass(frozen=True)
class CellInfo:
    """One cell of a run. Log paths are relative to the run's results_dir, except build_log
    (in the build cache)."""

    run_id: str
    key: str
    kernel: str  # the cell's kernel name, e.g. 'debian-6.1+remap-drops-mlock'
    identity: KernelIdentity
    arch: str
    mmu: str
    pressure: str
    seed: int
    duration_s: int
    build_state: BuildState
    build_log: str = ""
    console_log: str = ""  # the first boot's
    kernel_log: str = ""
    tools: str = ""  # the versions of the QEMU and compiler it ran with

    def __post_init__(self) -> None:
        if self.build_state not in BUILD_STATES:
            raise ValueError(
                f"build state {self.build_state!r} is not one of {', '.join(BUILD_STATES)}"
            )

    @property
    def variant(self) -> str:
        return variant_for(self.arch, self.mmu).name


@dataclass(frozen=True)
class ResultRow:
    """One attempt of one case in one cell. attempt counts from 1: the n-th time the case ran
    in the cell (a repeat of the suites, or a boot after a crash)."""

    run_id: str
    cell: str
    suite: str
    case: str  # as in results.json: '<program>/<case>'
    attempt: int
    state: State
    duration_s: float
    message: str = ""
    details: str = ""
    console_log: str = ""  # the boot that ran it, when known
    kernel_log: str = ""

    def __post_init__(self) -> None:
        if self.state not in STATES:
            raise ValueError(f"state {self.state!r} is not one of {', '.join(STATES)}")

    @property
    def test(self) -> str:
        """'suite/case', the name `lab history --test` takes."""
        return f"{self.suite}/{self.case}"


@dataclass(frozen=True)
class RunRecord:
    """A whole run as it is written to, and read from, the history."""

    run: RunInfo
    cells: tuple[CellInfo, ...]
    results: tuple[ResultRow, ...]


@dataclass(frozen=True)
class CaseRun:
    """One case in one cell of one run: every attempt of it, in order."""

    run: RunInfo
    cell: CellInfo
    attempts: tuple[ResultRow, ...]

    @property
    def state(self) -> State:
        return combined_state(a.state for a in self.attempts)
