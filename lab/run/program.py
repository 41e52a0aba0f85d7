"""Running suite programs in a guest and judging them: KTAP plus the kernel-log oracle.

Shared by `lab run` and the pytest fixtures, so both judge a program the same way.
"""

from dataclasses import dataclass, field
from pathlib import Path

from lab.arch import ArchProfile
from lab.errors import InfraError
from lab.results.exitstatus import exit_status_suite, whole_program_skip
from lab.results.ktap import ProgramStatus, Status, Suite, parse_ktap
from lab.results.oracle import Problem, find_problems, load_allowlist, parse_console, parse_kmsg
from lab.results.records import CaseRecord
from lab.run.pressure import PressureReport, applied, vmstat, wrap_argv
from lab.suites.catalogue import Program
from lab.suites.knobs import Knobs
from lab.suites.profiles import PressureProfile, vmstat_delta
from lab.transport.agent import CommandResult
from lab.transport.base import Transport, run_required
from lab.vm.guest import GuestCrashed

STATE = {Status.PASS: "pass", Status.SKIP: "skip", Status.FAIL: "fail", Status.CRASHED: "fail"}
# Counters recorded around a program that prints no KTAP: the proof that it faulted.
FAULT_COUNTERS = ("pgfault", "pgmajfault")


@dataclass
class ProgramOutcome:
    """One program's run: how it ended, its parsed KTAP, the kernel's complaints."""

    arch: str
    program: Program
    result: CommandResult | None
    ktap: Suite
    problems: list[Problem] = field(default_factory=list)
    crash: str = ""  # set when the guest panicked or hung while the program ran
    pressure: PressureReport | None = None

    @property
    def ended_well(self) -> bool:
        """Exit 0, or a skip status from a program that skipped as a whole."""
        result = self.result
        if result is None or result.ok:
            return result is not None
        return (
            result.kind == "exit"
            and result.value in self.program.exit_status.skip
            and all(c.status is Status.SKIP for c in self.ktap.cases)
        )

    @property
    def passed(self) -> bool:
        if self.pressure and self.pressure.missing:
            return False
        return (
            not self.crash
            and not self.problems
            and self.ended_well
            and all(c.status in (Status.PASS, Status.SKIP) for c in self.ktap.cases)
            and not self.ktap.errors
            and bool(self.ktap.cases)
        )

    def failure_report(self) -> str:
        """What a kernel engineer needs to see first."""
        lines = [f"{self.arch} {self.program.suite}/{self.program.name}:"]
        if self.crash:
            lines.append(f"  guest crashed: {self.crash}")
        if self.result is not None and not self.ended_well:
            lines.append(f"  program ended with {self.result.describe()}")
        lines += [f"  KTAP: {e}" for e in self.ktap.errors]
        for case in self.ktap.cases:
            if case.status not in (Status.PASS, Status.SKIP):
                lines.append(f"  {case.status.name} {case.name}")
                lines += [f"    # {d}" for d in case.diagnostics[-10:]]
        for problem in self.problems:
            lines.append(f"  kernel: {problem.title}")
            lines += [f"    {line}" for line in problem.report.splitlines()[:40]]
        if self.pressure:
            lines.append(f"  pressure {self.pressure.profile}: {self.pressure.summary()}")
            if self.pressure.missing:
                lines.append(f"  pressure not reached: {', '.join(self.pressure.missing)}")
        if self.result is not None and self.result.stderr:
            lines.append("  stderr: " + self.result.stderr.decode(errors="replace")[-2000:])
        return "\n".join(lines)


def read_kernel_log(target: Transport, log: Path) -> list[Problem]:
    """Append the target's new kernel messages to `log` and return what the oracle finds."""
    text = target.kmsg()
    with open(log, "a") as f:
        f.write(text)
    return find_problems(parse_kmsg(text), load_allowlist())


def run_program(
    guest: Transport,
    arch: ArchProfile,
    program: Program,
    knobs: Knobs,
    outdir: Path,
    kernel_log: Path,
    profile: PressureProfile | None = None,
    timeout_factor: float = 1.0,
) -> ProgramOutcome:
    """Run one program (under a pressure profile, if given, and with its sysctls), save its
    output, judge it, and check the kernel log it caused. Its timeout is scaled by
    `timeout_factor`, the slowness of the kernel's flavour (KernelBuild.timeout_factor)."""
    outdir.mkdir(parents=True, exist_ok=True)
    pressure = None
    argv = program.argv(arch, knobs, guest.paths, timeout_factor)
    timeout_s = program.timeout_for(knobs) * timeout_factor
    try:
        run_setup(guest, program, knobs)
        saved = set_sysctls(guest, program.sysctl)
        before = vmstat(guest)
        if profile and profile.applies_pressure:
            exempt = tuple(name for name, _ in program.pressure_exempt)
            with applied(guest, profile, exempt) as pressure:
                result = guest.run(wrap_argv(profile, argv), timeout_s)
        else:
            result = guest.run(argv, timeout_s)
        delta = vmstat_delta(before, vmstat(guest))
        set_sysctls(guest, saved)
    except GuestCrashed as e:
        console = guest.crash_evidence()
        ktap = parse_ktap("", program_status=ProgramStatus("error", 0))
        problems = find_problems(parse_console(console), load_allowlist())
        return ProgramOutcome(arch.name, program, None, ktap, problems, crash=str(e))
    suffix = "ktap" if program.output == "ktap" else "out"
    (outdir / f"{program.name}.{suffix}").write_bytes(result.stdout)
    if result.stderr:
        (outdir / f"{program.name}.stderr").write_bytes(result.stderr)
    write_vmstat(delta, outdir / f"{program.name}.vmstat")
    ktap = judge(program, result)
    if program.output == "exit-status":  # no KTAP of its own to show that it faulted
        for case in ktap.cases:
            case.diagnostics.append(fault_counts(delta))
    problems = read_kernel_log(guest, kernel_log)
    return ProgramOutcome(arch.name, program, result, ktap, problems, pressure=pressure)


def run_setup(guest: Transport, program: Program, knobs: Knobs) -> None:
    """The program's setup commands; one that fails is an infrastructure error."""
    for command in program.setup_commands(guest.hello.release, knobs, guest.paths):
        run_required(
            guest,
            command,
            f"setup of {program.suite}/{program.name} failed: {' '.join(command)}",
            timeout_s=120,
        )


def judge(program: Program, result: CommandResult) -> Suite:
    """The program's cases: its KTAP, or one case from its exit status and output."""
    status = ProgramStatus(result.kind, result.value)
    stdout = result.stdout.decode(errors="replace")
    output = stdout + result.stderr.decode(errors="replace")
    if program.output == "exit-status":
        return exit_status_suite(program.name, output, status, program.exit_status)
    ktap = parse_ktap(stdout, program_status=status)
    return whole_program_skip(ktap, program.name, output, status, program.exit_status)


def set_sysctls(
    guest: Transport, settings: tuple[tuple[str, str], ...]
) -> tuple[tuple[str, str], ...]:
    """Write sysctls ("vm.overcommit_memory" = "1"); returns the old values, to restore."""
    old = []
    for key, value in settings:
        path = "/proc/sys/" + key.replace(".", "/")
        current = guest.run(["@cat", path], timeout_s=30)
        written = guest.run(["@write", path, value], timeout_s=30)
        if not (current.ok and written.ok):
            raise InfraError(
                f"cannot set sysctl {key} = {value}: "
                f"{(current.stderr + written.stderr).decode(errors='replace')}"
            )
        old.append((key, current.stdout.decode().strip()))
    return tuple(old)


def fault_counts(delta: dict[str, int]) -> str:
    """'vmstat: pgfault +N, pgmajfault +M' over the program's run."""
    return "vmstat: " + ", ".join(f"{name} +{delta.get(name, 0)}" for name in FAULT_COUNTERS)


def write_vmstat(delta: dict[str, int], path: Path) -> None:
    """The /proc/vmstat counters that moved while the program ran, one 'name +N' per line."""
    path.write_text("".join(f"{name} {value:+d}\n" for name, value in delta.items() if value))


def skipped_records(arch: str, program: Program, reason: str) -> list[CaseRecord]:
    """The record of a program that is not run here (not on this arch, not in this kernel)."""
    return [
        CaseRecord(arch, program.suite, f"{program.name}/{program.name}", "skip", 0.0, reason, "")
    ]


def first_failure(diagnostics: list[str]) -> str:
    """The first "# FAIL: why" line of a case (testsuites/lib/ktap.h), without its prefix."""
    for line in diagnostics:
        text = line.lstrip("# ").strip()
        if text.startswith("FAIL: "):
            return text.removeprefix("FAIL: ")
    return ""


def records_for(outcome: ProgramOutcome) -> list[CaseRecord]:
    """One record per KTAP case, plus one for kernel-log problems or a crash."""
    arch, suite = outcome.arch, outcome.program.suite
    prefix = outcome.program.name
    records = []
    for case in outcome.ktap.cases:
        message = (
            ""
            if case.status == Status.PASS
            else case.directive
            or case.reason
            or first_failure(case.diagnostics)
            or case.status.name.lower()
        )
        records.append(
            CaseRecord(
                arch,
                suite,
                f"{prefix}/{case.name}",
                STATE[case.status],
                0.0,
                message,
                "\n".join(case.diagnostics),
            )
        )
    elapsed = outcome.result.elapsed_s if outcome.result else 0.0
    pressure = outcome.pressure
    if pressure and pressure.missing and not outcome.crash and not outcome.problems:
        records.append(
            CaseRecord(
                arch,
                suite,
                f"{prefix}/pressure",
                "infra",
                elapsed,
                "pressure not reached: " + ", ".join(pressure.missing),
                pressure.summary(),
            )
        )
    elif pressure:
        exempt = "\n".join(
            f"{name} not required: {why}" for name, why in outcome.program.pressure_exempt
        )
        records.append(
            CaseRecord(
                arch,
                suite,
                f"{prefix}/pressure",
                "pass",
                elapsed,
                f"{pressure.profile}: {pressure.summary()}",
                exempt,
            )
        )
    if outcome.crash or outcome.problems or not outcome.ktap.cases or outcome.ktap.errors:
        titles = [p.title for p in outcome.problems]
        message = "; ".join([outcome.crash, *titles, *outcome.ktap.errors]).strip("; ")
        records.append(
            CaseRecord(
                arch,
                suite,
                f"{prefix}/kernel",
                "fail",
                elapsed,
                message or "no KTAP results",
                "\n\n".join(p.report for p in outcome.problems),
            )
        )
    else:
        records.append(CaseRecord(arch, suite, f"{prefix}/kernel", "pass", elapsed, "", ""))
    return records
