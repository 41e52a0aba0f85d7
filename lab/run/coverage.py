"""`lab coverage`: which target kernel functions each suite really runs, per arch.

A coverage kernel (gcov for mm/) is built and booted; before each suite program the
counters are reset, after it they are read back from debugfs and gcov turns them into line
coverage of the target functions (lab/gcov.py).
"""

import json
import shutil
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from lab.arch import ArchProfile
from lab.errors import InfraError
from lab.kernel.build import BuildRequest, KernelBuild, build_kernel
from lab.kernel.coverage import INSTRUMENTED, NOTES_DIR, guest_data_path
from lab.progress import note
from lab.run.gcov import FunctionCoverage, format_table, target_coverage
from lab.run.lab_run import new_run_dir
from lab.run.machine import GuestOptions, lab_machine
from lab.run.pressure import prepare_boot
from lab.run.program import run_program
from lab.suites.catalogue import Suite
from lab.suites.knobs import Knobs, new_knobs
from lab.transport.base import run_required
from lab.vm.guest import Guest

RESET = "/sys/kernel/debug/gcov/reset"


@dataclass(frozen=True)
class CoverageRequest:
    """What `lab coverage` measures."""

    arches: tuple[ArchProfile, ...]
    suites: tuple[Suite, ...]
    build: BuildRequest  # arch is replaced per target arch; coverage is forced on
    results_root: Path = Path("results")
    guest: GuestOptions = field(default_factory=GuestOptions)
    knobs: Knobs = field(default_factory=new_knobs)


@dataclass
class SuiteCoverage:
    """Coverage of the target functions while one suite ran on one arch."""

    arch: str
    suite: str
    passed: bool
    functions: list[FunctionCoverage]


def reset_counters(guest: Guest) -> None:
    run_required(guest, ["@write", RESET, "1"], f"cannot reset gcov counters ({RESET})", 60)


def read_counters(guest: Guest, build: KernelBuild, dest: Path) -> int:
    """Copy the guest's .gcda files next to the build's .gcno files in `dest`; how many."""
    copied = 0
    for directory in INSTRUMENTED:
        notes = build.dir / NOTES_DIR / directory
        for gcno in sorted(notes.glob("*.gcno")):
            path = guest_data_path(build.metadata["objtree"], directory, gcno.stem)
            result = guest.run(["@cat", path], timeout_s=60)
            if result.ok and result.stdout:
                (dest / f"{gcno.stem}.gcda").write_bytes(result.stdout)
                shutil.copy2(gcno, dest / gcno.name)
                copied += 1
    if not copied:
        raise InfraError(
            f"no gcov counters in the guest under /sys/kernel/debug/gcov"
            f"{build.metadata['objtree']} (is {build.id} a coverage build?)"
        )
    return copied


def coverage_arch(
    request: CoverageRequest, arch: ArchProfile, run_dir: Path
) -> list[SuiteCoverage]:
    """Boot the arch's coverage kernel once and measure every suite program."""
    build = build_kernel(replace(request.build, arch=arch, coverage=True))
    machine = lab_machine(build, request.suites, request.guest)
    spec, profile = machine.spec, machine.profile
    arch_dir = run_dir / arch.name
    arch_dir.mkdir()
    sources = build.dir / NOTES_DIR / "mm"
    measured = []
    with ExitStack() as stack:
        guest = stack.enter_context(Guest(spec, arch_dir, name="coverage"))
        prepare_boot(guest, profile)
        for suite in request.suites:
            for program in suite.programs:
                note(f"{arch.name}: coverage of {suite.name}/{program.name}")
                reset_counters(guest)
                outcome = run_program(
                    guest,
                    arch,
                    program,
                    request.knobs,
                    arch_dir,
                    arch_dir / "kernel.log",
                    profile,
                    machine.timeout_factor,
                )
                data = arch_dir / "gcov" / program.name
                data.mkdir(parents=True)
                read_counters(guest, build, data)
                measured.append(
                    SuiteCoverage(
                        arch.name,
                        f"{suite.name}/{program.name}",
                        outcome.passed,
                        target_coverage(arch, data, sources),
                    )
                )
    return measured


def tables(measured: list[SuiteCoverage]) -> str:
    """One table per arch; a column whose program failed is marked."""
    out = []
    for arch in dict.fromkeys(m.arch for m in measured):
        columns = {
            m.suite + ("" if m.passed else " (FAILED)"): m.functions
            for m in measured
            if m.arch == arch
        }
        out.append(f"{arch}: line coverage of the target functions\n{format_table(columns)}")
    return "\n\n".join(out)


def run_coverage(request: CoverageRequest) -> tuple[Path, list[SuiteCoverage]]:
    """Measure every arch; write coverage.json and coverage.txt in a new run directory."""
    run_dir = new_run_dir(request.results_root)
    measured: list[SuiteCoverage] = []
    for arch in request.arches:
        measured += coverage_arch(request, arch, run_dir)
    (run_dir / "coverage.json").write_text(
        json.dumps(
            {
                "seed": request.knobs.seed,
                "pressure": request.guest.pressure,
                "results": [asdict(m) for m in measured],
            },
            indent=2,
        )
        + "\n"
    )
    (run_dir / "coverage.txt").write_text(tables(measured) + "\n")
    return run_dir, measured
