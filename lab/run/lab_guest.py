"""What the pytest fixtures hand to tests: a guest that reboots itself after a crash."""

import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lab.arch import ArchProfile
from lab.kernel.build import KernelBuild
from lab.results.ktap import Status
from lab.results.oracle import Problem
from lab.run.machine import GuestOptions, lab_machine
from lab.run.pressure import prepare_boot
from lab.run.program import ProgramOutcome, read_kernel_log, run_program
from lab.suites.catalogue import Program, Suite
from lab.suites.knobs import Knobs
from lab.suites.profiles import PressureProfile
from lab.transport.agent import CommandResult
from lab.vm.guest import Guest
from lab.vm.qemu import MachineSpec


@dataclass
class LabGuest:
    """A booted guest for tests; boots again on the next use if a test crashed it."""

    spec: MachineSpec
    workdir: Path
    knobs: Knobs
    profile: PressureProfile | None = None
    absent: dict[str, str] = field(default_factory=dict)  # programs not in the image: why
    timeout_factor: float = 1.0  # its kernel's flavour: programs' timeouts scale by it
    boots: int = 0
    _guest: Guest | None = field(default=None, repr=False)

    @classmethod
    def of(
        cls,
        build: KernelBuild,
        suites: Sequence[Suite],
        workdir: Path,
        knobs: Knobs,
        options: GuestOptions | None = None,
    ) -> "LabGuest":
        """A guest of `build` with the suites' programs, booted as `options` say (on first
        use)."""
        machine = lab_machine(build, suites, options or GuestOptions())
        return cls(
            machine.spec,
            workdir,
            knobs,
            machine.profile,
            absent=machine.image.absent,
            timeout_factor=machine.timeout_factor,
        )

    @property
    def arch(self) -> ArchProfile:
        return self.spec.arch

    @property
    def kernel_log(self) -> Path:
        return self.workdir / "kernel.log"

    @property
    def guest(self) -> Guest:
        """The running guest, booting one if needed."""
        if self._guest is None or self._guest.agent is None:
            self.close()
            self.boots += 1
            self._guest = Guest(self.spec, self.workdir, name=f"boot{self.boots}")
            self._guest.__enter__()
            read_kernel_log(self._guest, self.kernel_log)  # boot messages, checked by tests
            if self.profile:
                prepare_boot(self._guest, self.profile)
        return self._guest

    @property
    def alive(self) -> bool:
        return self._guest is not None and self._guest.agent is not None

    def run(self, cmd: str | list[str], timeout: float | None = None) -> CommandResult:
        """Run a command (argv list, or a string split like a shell would) in the guest.

        The timeout defaults to the arch's command timeout (TCG is slower on ppc64)."""
        argv = shlex.split(cmd) if isinstance(cmd, str) else list(cmd)
        return self.guest.run(argv, timeout)

    def not_run_reason(self, program: Program) -> str:
        """Why `program` is not run in this guest: not on this arch, not for this kernel."""
        return program.skip_reason(self.arch.name) or self.absent.get(program.name, "")

    def run_program(self, program: Program) -> ProgramOutcome:
        """Run a suite program and judge it (KTAP or exit status, + kernel log)."""
        return run_program(
            self.guest,
            self.arch,
            program,
            self.knobs,
            self.workdir / "output",
            self.kernel_log,
            self.profile,
            self.timeout_factor,
        )

    def kernel_problems(self) -> list[Problem]:
        """What the oracle finds in kernel messages since the last check."""
        if not self.alive:
            return []
        return read_kernel_log(self._guest, self.kernel_log)

    def close(self) -> None:
        if self._guest is not None:
            self._guest.close()
            self._guest = None


def assert_program_passed(outcome: ProgramOutcome, allow_skips: bool = False) -> None:
    """A suite program's verdict for pytest: every case passed (skips only if allowed), the
    kernel log was clean, and any pressure profile was really reached."""
    assert outcome.passed, outcome.failure_report()
    if not allow_skips:
        skipped = [c.name for c in outcome.ktap.cases if c.status is Status.SKIP]
        assert not skipped, (
            f"cases skipped in the lab's own guest: {skipped}\n" + outcome.failure_report()
        )
