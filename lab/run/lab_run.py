"""`lab run`: build, boot and run suites on each arch; write results/<run id>/."""

import json
import socket
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field, replace
from functools import partial
from pathlib import Path

from lab.arch import ArchProfile
from lab.errors import BuildError, InfraError, UsageError
from lab.kernel.build import BuildRequest, KernelBuild, build_kernel, load_build
from lab.peers.registry import build_peer
from lab.progress import note
from lab.results.junit import write_junit
from lab.results.records import CaseRecord, write_results_json
from lab.run.machine import GuestOptions, lab_machine
from lab.run.pressure import prepare_boot
from lab.run.program import (
    ProgramOutcome,
    read_kernel_log,
    records_for,
    run_program,
    skipped_records,
)
from lab.suites.catalogue import Program, Suite
from lab.suites.knobs import Knobs, new_knobs
from lab.vm.guest import Guest


@dataclass(frozen=True)
class RunRequest:
    """What `lab run` does."""

    arches: tuple[ArchProfile, ...]
    suites: tuple[Suite, ...]
    build: BuildRequest  # arch is replaced per target arch
    results_root: Path = Path("results")
    kernel: str | None = None  # a prebuilt kernel (build id or artifact dir), single arch only
    guest: GuestOptions = field(default_factory=GuestOptions)
    knobs: Knobs = field(default_factory=new_knobs)  # seed and duration for every program


@dataclass
class ArchRun:
    """What happened on one arch. Log paths are relative to the run directory."""

    arch: str
    build_id: str = ""
    release: str = ""
    source: str = ""
    series: str = ""
    patches_hash: str = ""
    config_hash: str = ""
    flavour: str = ""  # the kernel's config flavour ('' before run.json kept it: tiny)
    build_log: str = ""
    boot_s: list[float] = field(default_factory=list)
    console_logs: list[str] = field(default_factory=list)  # one per boot
    boot_records: list[int] = field(default_factory=list)  # index of each boot's first record
    kernel_log: str = ""
    records: list[CaseRecord] = field(default_factory=list)
    infra: str = ""
    target: str = ""  # a remote target's URL and identity; '' for a lab guest


def new_run_dir(root: Path) -> Path:
    """results/<timestamp>[-N], never reusing an existing directory."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for n in range(100):
        candidate = root / (stamp if n == 0 else f"{stamp}-{n}")
        try:
            candidate.mkdir(parents=True)
            return candidate
        except FileExistsError:
            continue
    raise InfraError(f"cannot create a run directory under {root}")


def infra_record(arch: str, program: Program, message: str) -> CaseRecord:
    """The record of a program that could not run: the message's first line, and all of it."""
    return CaseRecord(
        arch, program.suite, program.name, "infra", 0.0, message.splitlines()[0], message
    )


def infra_records(arch: str, suites: tuple[Suite, ...], message: str) -> list[CaseRecord]:
    """One infra record per program that could not run."""
    return [infra_record(arch, p, message) for s in suites for p in s.programs]


def run_arch(request: RunRequest, arch: ArchProfile, run_dir: Path) -> ArchRun:
    """Build (or load), boot as often as needed, run every program of every suite."""
    outcome = ArchRun(
        arch.name, source=request.build.source, series=str(request.build.series or "")
    )
    arch_dir = run_dir / arch.name
    arch_dir.mkdir()
    try:
        build = (
            load_build(request.kernel)
            if request.kernel
            else build_kernel(replace(request.build, arch=arch))
        )
        if build.arch.name != arch.name:
            raise UsageError(f"kernel {build.id} is for {build.arch.name}, not {arch.name}")
        outcome.build_id, outcome.release = build.id, build.release
        outcome.source, outcome.series = build.source, build.series
        outcome.patches_hash, outcome.config_hash = build.patches_hash, build.config_hash
        outcome.flavour = build.metadata.get("flavour", "tiny")
        outcome.build_log = str(build.dir / "build.log")
        suites, outcome.records = buildable_suites(arch, request.suites, build)
        machine = lab_machine(build, suites, request.guest)
    except InfraError as e:
        outcome.infra = str(e)
        outcome.records = infra_records(arch.name, request.suites, f"{e.kind}: {e}")
        return outcome
    spec, image, profile = machine.spec, machine.image, machine.profile
    programs = [p for s in suites for p in s.programs]
    kernel_log = arch_dir / "kernel.log"
    boots = 0
    with ExitStack() as stack:
        guest: Guest | None = None
        for index, program in enumerate(programs):
            reason = program.skip_reason(arch.name) or image.absent.get(program.name, "")
            if reason:
                outcome.records += skipped_records(arch.name, program, reason)
                continue
            if guest is None:
                boots += 1
                try:
                    booting = Guest(spec, arch_dir, name=f"boot{boots}")
                    outcome.console_logs.append(str(booting.console_log.relative_to(run_dir)))
                    outcome.boot_records.append(len(outcome.records))
                    outcome.kernel_log = str(kernel_log.relative_to(run_dir))
                    guest = stack.enter_context(booting)
                    prepare_boot(guest, profile)
                except InfraError as e:
                    outcome.infra = str(e)
                    outcome.records += boot_failure_records(arch.name, programs[index:], e)
                    break
                outcome.boot_s.append(guest.boot.boot_s)
                outcome.records += boot_records(arch.name, guest, kernel_log)
            note(f"{arch.name}: running {program.suite}/{program.name}")
            try:
                result: ProgramOutcome = run_program(
                    guest,
                    arch,
                    program,
                    request.knobs,
                    arch_dir,
                    kernel_log,
                    profile,
                    machine.timeout_factor,
                )
            except InfraError as e:  # its setup or sysctls: the other programs still run
                outcome.records.append(infra_record(arch.name, program, f"{e.kind}: {e}"))
                continue
            outcome.records += records_for(result)
            if result.crash:
                guest.close()
                guest = None
    return outcome


def buildable_suites(
    arch: ArchProfile, suites: tuple[Suite, ...], build: KernelBuild
) -> tuple[list[Suite], list[CaseRecord]]:
    """The suites whose programs build for this kernel, and infra records for the others: a
    peer suite that does not build (a source that cannot be fetched) does not stop the rest.
    """
    ok, records = [], []
    for suite in suites:
        try:
            if suite.builder:
                build_peer(suite, arch, build)
            ok.append(suite)
        except BuildError as e:
            records += infra_records(arch.name, (suite,), f"{e.kind}: {e}")
    return ok, records


def boot_failure_records(arch: str, programs: list, error: InfraError) -> list[CaseRecord]:
    """Programs that could not run are infra; a kernel that crashed while booting is also
    a failed 'boot' case carrying its report."""
    first = str(error).splitlines()[0]
    records = [
        CaseRecord(arch, p.suite, p.name, "infra", 0.0, f"{error.kind}: {first}", str(error))
        for p in programs
    ]
    reports = getattr(error, "kernel_reports", ())
    if reports:
        records.insert(
            0,
            CaseRecord(
                arch,
                "boot",
                "boot",
                "fail",
                0.0,
                "; ".join(title for title, _ in reports),
                "\n\n".join(report for _, report in reports),
            ),
        )
    return records


def boot_records(arch: str, guest: Guest, kernel_log: Path) -> list[CaseRecord]:
    """The boot itself is a case: a WARNING or BUG while booting fails it."""
    problems = read_kernel_log(guest, kernel_log)
    state = "fail" if problems else "pass"
    message = "; ".join(p.title for p in problems)
    details = "\n\n".join(p.report for p in problems)
    return [CaseRecord(arch, "boot", "boot", state, guest.boot.boot_s, message, details)]


def write_reports(
    run_dir: Path,
    request: RunRequest,
    runs: list[ArchRun],
    started: str,
    duration_s: float,
    complete: bool,
) -> None:
    """results.json, junit.xml and run.json for the arches run so far."""
    records = [r for run in runs for r in run.records]
    write_junit(records, run_dir / "junit.xml")
    write_results_json(records, run_dir / "results.json")
    summary = {
        "run_dir": str(run_dir),
        "started": started,
        "host": socket.gethostname(),
        "complete": complete,
        "duration_s": duration_s,
        "seed": request.knobs.seed,
        "suite_duration_s": request.knobs.duration_s,
        "module_params": [str(p) for p in request.knobs.module_params],
        "pressure": request.guest.pressure,
        "mmu": request.guest.mmu,
        "arches": [{k: v for k, v in asdict(run).items() if k != "records"} for run in runs],
    }
    (run_dir / "run.json").write_text(json.dumps(summary, indent=2) + "\n")


def run_lab(
    request: RunRequest, parts: Sequence[Callable[[Path], ArchRun]] = ()
) -> tuple[Path, list[ArchRun]]:
    """Run every arch (or the given parts, e.g. a remote target), writing the reports after
    each one, so an interrupted run keeps the results of the parts it finished ("complete":
    false in run.json)."""
    run_dir = new_run_dir(request.results_root)
    note(f"seed {request.knobs.seed} (`lab run --seed {request.knobs.seed}` repeats this run)")
    if request.knobs.module_params:
        note("module parameters: " + " ".join(map(str, request.knobs.module_params)))
    started, start = time.strftime("%Y-%m-%dT%H:%M:%S"), time.monotonic()
    runs: list[ArchRun] = []
    complete = False
    try:
        for part in parts or [partial(run_arch, request, arch) for arch in request.arches]:
            runs.append(part(run_dir))
            write_reports(run_dir, request, runs, started, time.monotonic() - start, complete=False)
        complete = True
    finally:
        write_reports(run_dir, request, runs, started, time.monotonic() - start, complete=complete)
    return run_dir, runs
