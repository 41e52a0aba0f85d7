"""The exit statuses of the `lab` commands, as the README documents them."""

from collections.abc import Iterable
from enum import IntEnum


class ExitStatus(IntEnum):
    """What a `lab` command's exit status says."""

    OK = 0  # every test passed; no new regression; a culprit confirmed
    FAILED = 1  # a test failed; new regressions; no culprit
    BAD_INPUT = 2  # a missing file, an unknown name, a bad option
    INFRA = 3  # the lab's machinery failed: build, boot, QEMU, a target, the pool
    INTERRUPTED = 130  # Ctrl-C (SIGINT); other signals: 128 + the signal's number


def run_exit_status(states: Iterable[str]) -> ExitStatus:
    """A run's status from its records' states: a failure first, then infra."""
    seen = set(states)
    if "fail" in seen:
        return ExitStatus.FAILED
    return ExitStatus.INFRA if "infra" in seen else ExitStatus.OK
