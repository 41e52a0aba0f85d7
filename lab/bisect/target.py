"""The test a bisect follows: which suite program to run and which of its records to read."""

from dataclasses import dataclass

from lab.errors import UsageError
from lab.suites.catalogue import Suite

BOOT_TEST = "boot/boot"
BOOT_PROGRAM = ("smoke", "smoke")  # what runs when the test is the boot itself


@dataclass(frozen=True)
class Target:
    """A test as results.json names it (suite, 'program/case'), and the program that runs it."""

    suite: str  # the suite whose program is run
    program: str
    record_suite: str  # the suite of the test's record: `suite`, or 'boot' for the boot case
    record_case: str  # 'program/case', or 'boot'

    @property
    def test(self) -> str:
        """'suite/program/case' (or 'boot/boot'), as `lab history --test` takes it."""
        return f"{self.record_suite}/{self.record_case}"


def resolve_target(test: str, suites: dict[str, Suite]) -> Target:
    """'suite/program/case', 'program/case' or 'boot/boot' as a Target."""
    if test == BOOT_TEST:
        return Target(*BOOT_PROGRAM, "boot", "boot")
    parts = test.split("/")
    if len(parts) == 3 and parts[0] in suites:
        suite, program, case = parts
        if program not in {p.name for p in suites[suite].programs}:
            raise UsageError(f"test {test!r}: suite {suite} has no program {program!r}")
        return Target(suite, program, suite, f"{program}/{case}")
    if len(parts) == 2:
        program, case = parts
        for suite in suites.values():
            if program in {p.name for p in suite.programs}:
                return Target(suite.name, program, suite.name, f"{program}/{case}")
    raise UsageError(
        f"unknown test {test!r}: give SUITE/PROGRAM/CASE as `lab history` names it "
        f"(e.g. smoke/smoke/remap_file_pages), PROGRAM/CASE, or {BOOT_TEST}; "
        f"suites: {', '.join(suites)}"
    )
