"""Errors the lab reports to its users, grouped by who is to blame."""

from pathlib import Path


class LabError(Exception):
    """A failure with a message fit to show a user as it is: its first line says what
    failed, the lines after it show the details."""

    kind = "error"

    @property
    def summary(self) -> str:
        return str(self).partition("\n")[0]

    @property
    def details(self) -> str:
        return str(self).partition("\n")[2]


class UsageError(LabError):
    """Bad input from the user: a missing file, an unknown name, a bad option."""


class InfraError(LabError):
    """The lab's machinery failed (build, boot, QEMU): never a test verdict."""

    kind = "infra"


class PatchError(UsageError):
    """A patch of a series does not apply."""


class ConfigError(UsageError):
    """A requested kernel config option did not survive olddefconfig."""


class BuildError(InfraError):
    """The kernel or a guest program did not build; `log` is the build's log, if it has one.
    The message's first line says what did not build, the lines after it the errors."""

    kind = "build"

    def __init__(self, message: str, log: Path | None = None):
        first, _, errors = message.partition("\n")
        where = f"; log: {log}" if log else ""
        super().__init__(first + where + (f"\n{errors}" if errors else ""))
        self.log = log
        self._summary, self._details = first, errors

    @property
    def summary(self) -> str:
        return self._summary

    @property
    def details(self) -> str:
        return self._details


class BootError(InfraError):
    """The guest did not boot to its agent, or QEMU died.

    `kernel_reports` holds the titles and reports of kernel problems (an oops, a panic) on
    the console: then the kernel itself failed to boot, which is a finding, not machinery.
    `stage` says how far the boot got: 'qemu' (QEMU did not start), 'silent' (no console
    output at all), 'kernel' (the kernel printed, but never started /init), 'init' (it
    started /init, and the agent never answered). `console_tail` is the console's end.
    """

    kind = "boot"

    def __init__(
        self,
        message: str,
        kernel_reports: tuple[tuple[str, str], ...] = (),
        stage: str = "qemu",
        console_tail: str = "",
    ):
        super().__init__(message)
        self.kernel_reports = kernel_reports
        self.stage = stage
        self.console_tail = console_tail
