"""Watching a guest's console while a command runs: a kernel that reports a lockup, a hung
task, an RCU stall, a BUG or an Oops ends the wait at once, once its report is complete,
instead of at the command's timeout."""

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from lab.results.oracle import Problem, ProblemKind, find_problems, load_allowlist, parse_console

# Reports after which the command's result is no longer worth waiting for.
FATAL = frozenset(
    {
        ProblemKind.SOFT_LOCKUP,
        ProblemKind.HUNG_TASK,
        ProblemKind.RCU_STALL,
        ProblemKind.BUG,
        ProblemKind.OOPS,
        ProblemKind.PANIC,
    }
)
QUIET_S = 2.0  # a report is complete when the console has been quiet this long ...
REPORT_MAX_S = 15.0  # ... or this long after its first line
CHECK_EVERY_S = 0.25


class KernelReported(Exception):
    """The kernel reported a fatal problem while a command ran."""

    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(p.title for p in problems))
        self.problems = problems


@dataclass
class ConsoleWatch:
    """Reads the console text from `start` on; check() raises KernelReported."""

    console: Callable[[], str]  # the whole console so far
    start: int
    clock: Callable[[], float] = time.monotonic
    seen_at: float | None = None  # when the first fatal report showed
    _length: int = -1
    _changed_at: float = field(default_factory=time.monotonic)
    _checked_at: float = 0.0

    def text(self) -> str:
        """The console since the command started."""
        return self.console()[self.start :]

    def fatal(self) -> list[Problem]:
        """The fatal reports on the console since the command started."""
        problems = find_problems(parse_console(self.text()), load_allowlist())
        return [p for p in problems if p.kind in FATAL]

    def check(self) -> None:
        now = self.clock()
        if now - self._checked_at < CHECK_EVERY_S:
            return
        self._checked_at = now
        length = len(self.console())
        if length != self._length:
            self._length, self._changed_at = length, now
            if self.seen_at is None and self.fatal():
                self.seen_at = now
        if self.seen_at is None:
            return
        if now - self._changed_at >= QUIET_S or now - self.seen_at >= REPORT_MAX_S:
            raise KernelReported(self.fatal())
