"""`lab run`: build, boot and run suites on each arch; write results/<run id>/."""

import contextlib
import copy
import json
import signal
import socket
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field, replace
from functools import partial
from pathlib import Path

from lab import files
from lab.arch import ArchProfile
from lab.errors import BootError, BuildError, InfraError, UsageError
from lab.kernel.build import BuildRequest, KernelBuild, build_kernel, load_build
from lab.peers.registry import build_peer
from lab.progress import note
from lab.results.junit import write_junit
from lab.results.records import CaseRecord, RunStatus, write_results_json
from lab.run.boot import BootVerdict, clean_kernel_boots, judge_boot
from lab.run.machine import GuestOptions, lab_machine
from lab.run.pressure import prepare_boot
from lab.run.program import (
    ProgramOutcome,
    read_kernel_log,
    records_for,
    run_program,
    skipped_records,
)
from lab.run.provenance import arch_tools
from lab.suites.catalogue import Program, Suite
from lab.suites.knobs import Knobs, new_knobs
from lab.version import lab_identity
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
    tools: str = ""  # the versions of the QEMU and compiler it used


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
        except OSError as e:  # not writable, a full disk
            raise InfraError(f"cannot create a run directory {candidate}: {e.strerror}") from e
    raise InfraError(f"cannot create a run directory under {root}")


def infra_record(arch: str, program: Program, message: str) -> CaseRecord:
    """The record of a program that could not run: the message's first line, and all of it."""
    return CaseRecord(
        arch, program.suite, program.name, "infra", 0.0, message.splitlines()[0], message
    )


def infra_records(arch: str, suites: tuple[Suite, ...], message: str) -> list[CaseRecord]:
    """One infra record per program that could not run."""
    return [infra_record(arch, p, message) for s in suites for p in s.programs]


Saver = Callable[[ArchRun], None]  # takes an arch's outcome so far, to write it out


def ignore(outcome: ArchRun) -> None:
    """A Saver that saves nothing."""


def run_arch(
    request: RunRequest, arch: ArchProfile, run_dir: Path, saved: Saver = ignore
) -> ArchRun:
    """Build (or load), boot as often as needed, run every program of every suite; the
    outcome so far goes to `saved` after each program and boot."""
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
        outcome.tools = arch_tools(arch)
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
                except BootError as e:
                    verdict = judge_boot(e, lambda: clean_kernel_boots(spec, arch_dir))
                    outcome.infra = "" if verdict.kernel_failed else str(e)
                    outcome.records += boot_failure_records(arch.name, programs[index:], e, verdict)
                    break
                except InfraError as e:
                    outcome.infra = str(e)
                    outcome.records += boot_failure_records(arch.name, programs[index:], e)
                    break
                outcome.boot_s.append(guest.boot.boot_s)
                outcome.records += boot_records(arch.name, guest, kernel_log)
                saved(outcome)
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
                records = [infra_record(arch.name, program, f"{e.kind}: {e}")]
                result = None
            else:
                records = records_for(result)
            outcome.records += records
            saved(outcome)
            note(f"{arch.name}: {program.suite}/{program.name}: {verdict_line(records)}")
            if result is not None and result.crash:
                guest.close()
                guest = None
    return outcome


def verdict_line(records: list[CaseRecord]) -> str:
    """A program's verdict in a line: 'pass (5 cases)', 'FAIL: 1 of 6 cases: mmap_read:
    data mismatch ...', 'infra: boot: ...'."""
    failed = [r for r in records if r.state == "fail"]
    infra = [r for r in records if r.state == "infra"]
    if failed:
        first = failed[0]
        return (
            f"FAIL: {len(failed)} of {len(records)} cases: "
            f"{first.case.rpartition('/')[2]}: {first.message}"
        )[:160]
    if infra:
        return f"infra: {infra[0].message}"[:160]
    skipped = sum(r.state == "skip" for r in records)
    return f"pass ({len(records) - skipped} cases" + (f", {skipped} skipped)" if skipped else ")")


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


def boot_failure_records(
    arch: str, programs: list, error: InfraError, verdict: BootVerdict | None = None
) -> list[CaseRecord]:
    """Programs that could not run are infra; a kernel that crashed or hung while booting
    (the verdict says so) is also a failed 'boot' case carrying its reports, or the end of
    its console."""
    first = str(error).splitlines()[0]
    records = [
        CaseRecord(arch, p.suite, p.name, "infra", 0.0, f"{error.kind}: {first}", str(error))
        for p in programs
    ]
    reports = getattr(error, "kernel_reports", ())
    if verdict is None and reports:  # an oops or a panic while booting
        verdict = BootVerdict(True, "; ".join(title for title, _ in reports))
    if verdict is not None and verdict.kernel_failed:
        details = "\n\n".join(report for _, report in reports) or (
            f"{first}\nconsole (last lines):\n{getattr(error, 'console_tail', '')}"
        )
        records.insert(0, CaseRecord(arch, "boot", "boot", "fail", 0.0, verdict.reason, details))
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
    interrupted: str = "",
) -> None:
    """results.json, junit.xml and run.json for the arches run so far, each replaced whole;
    `interrupted` names the signal that ended an incomplete run."""
    records = [r for run in runs for r in run.records]
    status = RunStatus(complete, interrupted)
    properties = {"faultlab": lab_identity(), "seed": str(request.knobs.seed)}
    for run in runs:
        properties |= {
            f"{run.arch}.kernel": f"{run.build_id} {run.release}".strip(),
            f"{run.arch}.tools": run.tools,
        }
    write_junit(records, run_dir / "junit.xml", status, properties)
    write_results_json(records, run_dir / "results.json", status)
    summary = {
        "run_dir": str(run_dir),
        "lab": lab_identity(),
        "started": started,
        "host": socket.gethostname(),
        "complete": complete,
        "interrupted": interrupted,
        "duration_s": duration_s,
        "seed": request.knobs.seed,
        "suite_duration_s": request.knobs.duration_s,
        "module_params": [str(p) for p in request.knobs.module_params],
        "pressure": request.guest.pressure,
        "mmu": request.guest.mmu,
        "arches": [{k: v for k, v in asdict(run).items() if k != "records"} for run in runs],
    }
    files.write_text(run_dir / "run.json", json.dumps(summary, indent=2) + "\n")


Part = Callable[[Path, Saver], ArchRun]  # an arch of a run, or a remote target


class Reports:
    """The reports of a run whose parts save their progress from their own threads: one
    writer at a time, each part's last saved outcome (a copy) in its place, the parts in
    the order given; once the run is over (or interrupted), late saves change nothing."""

    def __init__(self, run_dir: Path, request: RunRequest, parts: int):
        self.run_dir, self.request = run_dir, request
        self.started, self.start = time.strftime("%Y-%m-%dT%H:%M:%S"), time.monotonic()
        self.outcomes: list[ArchRun | None] = [None] * parts
        self.lock = threading.Lock()
        self.closed = False

    def saver(self, index: int) -> Saver:
        """The Saver of part `index`."""
        return partial(self.save, index)

    def save(self, index: int, outcome: ArchRun) -> None:
        snapshot = copy.deepcopy(outcome)  # the part goes on changing its own
        with self.lock:
            if not self.closed:
                self.outcomes[index] = snapshot
                self._write(False)

    def finish(self, complete: bool, interrupted: str = "") -> None:
        """The last reports: whole, incomplete, or naming what interrupted the run."""
        with self.lock:
            self._write(complete, interrupted)
            self.closed = True

    def _write(self, complete: bool, interrupted: str = "") -> None:
        write_reports(
            self.run_dir,
            self.request,
            [o for o in self.outcomes if o is not None],
            self.started,
            time.monotonic() - self.start,
            complete,
            interrupted,
        )


def run_lab(
    request: RunRequest, run_dir: Path, parts: Sequence[Part] = (), at_once: bool = False
) -> list[ArchRun]:
    """Run every arch (or the given parts, e.g. remote targets; `at_once`: each in a thread
    of its own) into `run_dir`, writing the reports after every program, so a run that is
    interrupted, by a signal or a power cut, keeps every program it finished ("complete":
    false in run.json; "interrupted" names the signal when there was time to say it)."""
    note(f"seed {request.knobs.seed} (`lab run --seed {request.knobs.seed}` repeats this run)")
    if request.knobs.module_params:
        note("module parameters: " + " ".join(map(str, request.knobs.module_params)))
    parts = list(parts) or [partial(run_arch, request, arch) for arch in request.arches]
    reports = Reports(run_dir, request, len(parts))
    try:
        if at_once and len(parts) > 1:
            runs = run_at_once(parts, run_dir, reports)
        else:
            runs = []
            for index, part in enumerate(parts):
                runs.append(part(run_dir, reports.saver(index)))
                reports.save(index, runs[-1])
    except BaseException as e:
        reports.finish(False, interruption(e))
        raise
    reports.finish(True)
    return runs


def run_at_once(parts: list[Part], run_dir: Path, reports: Reports) -> list[ArchRun]:
    """Each part in a thread of its own; their outcomes in the parts' order. A part that
    raises does not stop the others: the first error is raised once all have ended.
    (Daemon threads: a signal ends the run without waiting for them.)"""
    done: list[ArchRun | BaseException | None] = [None] * len(parts)

    def run(index: int) -> None:
        try:
            done[index] = parts[index](run_dir, reports.saver(index))
            reports.save(index, done[index])
        except BaseException as e:  # handed to the main thread
            done[index] = e

    threads = [
        threading.Thread(target=run, args=(i,), name=f"part-{i}", daemon=True)
        for i in range(len(parts))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for outcome in done:
        if isinstance(outcome, BaseException):
            raise outcome
    return [outcome for outcome in done if isinstance(outcome, ArchRun)]


def interruption(error: BaseException) -> str:
    """What ended a run early: the signal's name, or the error's kind."""
    if isinstance(error, KeyboardInterrupt):
        return "SIGINT"
    if isinstance(error, SystemExit) and isinstance(error.code, int) and error.code > 128:
        with contextlib.suppress(ValueError):
            return signal.Signals(error.code - 128).name
    return type(error).__name__
