"""Testing one candidate: build its kernel, boot it and run the test's program R times.

A candidate whose kernel does not build is skipped, never bad. Each run is a `lab run` of
the one suite program that holds the test, on the prebuilt kernel, in a fresh guest,
written to its own results directory.
"""

import hashlib
import shutil
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

from lab.arch.variants import ArchVariant
from lab.bisect.policy import BuildFailure, RunResult, Signature, runs_wanted, step_verdict
from lab.bisect.search import Plan
from lab.bisect.state import Role, Step
from lab.bisect.target import Target
from lab.errors import BuildError, ConfigError, InfraError, PatchError
from lab.kernel.build import BuildRequest, KernelBuild, build_kernel
from lab.proc import CommandError
from lab.progress import note
from lab.results.oracle import find_problems, load_allowlist, parse_kernel_log
from lab.run.lab_run import ArchRun, RunRequest, run_arch, write_reports
from lab.run.machine import GuestOptions
from lab.suites.catalogue import all_suites
from lab.suites.knobs import new_knobs

# A candidate that cannot be built is skipped: a compile error, a patch that does not apply,
# a config option its Kconfig lacks, a build step that fails.
UNBUILDABLE = (InfraError, PatchError, ConfigError, CommandError)


@dataclass(frozen=True)
class Built:
    """A candidate's kernel."""

    build_id: str
    dir: str
    digest: str  # sha256 of its boot image and vmlinux
    build_s: float


class Bench(Protocol):
    """Where candidates are built and run: the lab itself, a worker pool, or a simulation
    in tests. `fanout` runs of one candidate may go at once (to run_many)."""

    fanout: int

    def build(self, request: BuildRequest) -> Built:
        """Build the candidate (raising BuildError, PatchError, ... when it cannot)."""
        ...

    def run(self, built: Built, index: int, run_dir: Path) -> RunResult:
        """The index-th run (from 0) of the test on the kernel, its files in run_dir."""
        ...

    def run_many(self, built: Built, indexes: list[int], step_dir: Path) -> list[RunResult]:
        """Those runs at once, each in step_dir/run<index + 1>."""
        ...


def kernel_digest(build: KernelBuild) -> str:
    """sha256 over the boot image and the vmlinux (once when they are the same file)."""
    digest = hashlib.sha256()
    for path in dict.fromkeys((build.boot_image, build.vmlinux)):
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def build_candidate(bench: Bench, request: BuildRequest) -> Built | BuildFailure:
    """The candidate's kernel, or why it could not be built."""
    try:
        return bench.build(request)
    except UNBUILDABLE as e:
        first, _, details = str(e).partition("\n")
        if isinstance(e, BuildError):
            first, details = e.summary, e.details
        return BuildFailure(
            f"{type(e).__name__}: {first}", details, str(getattr(e, "log", None) or "")
        )


def run_candidate(
    bench: Bench,
    built: Built,
    signature: Signature,
    repeat: int,
    step_dir: Path,
    until_repeat: bool = False,
) -> list[RunResult]:
    """Run the test until the policy has its verdict (see policy.needs_more)."""
    runs: list[RunResult] = []
    while wanted := runs_wanted(runs, signature, repeat, until_repeat):
        indexes = list(range(len(runs), len(runs) + min(wanted, bench.fanout)))
        batch = (
            bench.run_many(built, indexes, step_dir)
            if len(indexes) > 1
            else [bench.run(built, indexes[0], step_dir / f"run{indexes[0] + 1}")]
        )
        for run in batch:
            note(
                f"  run {len(runs) + 1}: {run.state}"
                + (f" ({run.message})" if run.message else "")
                + (f", infra: {run.infra.splitlines()[0]}" if run.infra else "")
            )
            runs.append(run)
    return runs


def make_step(
    number: int,
    role: Role,
    key: str,
    label: str,
    built: Built | BuildFailure,
    runs: list[RunResult],
    signature: Signature,
    repeat: int,
    started: float,
) -> Step:
    """The record of a tested candidate, with the policy's verdict."""
    failure = built if isinstance(built, BuildFailure) else None
    verdict = step_verdict(runs, signature, repeat, build=failure)
    step = Step(
        number,
        role,
        key,
        label,
        verdict.verdict,
        verdict.reason,
        duration_s=round(time.monotonic() - started, 1),
        runs=runs,
    )
    if failure is not None:
        step.build_error, step.build_details = failure.error, failure.details
        step.build_log = failure.log
    else:
        step.build_id, step.kernel_digest = built.build_id, built.digest
        step.build_s = round(built.build_s, 1)
    return step


def try_candidate(
    bench: Bench,
    plan: Plan,
    key: str,
    role: Role,
    number: int,
    signature: Signature,
    repeat: int,
    step_dir: Path,
) -> Step:
    """Build and run one candidate and judge it."""
    started = time.monotonic()
    label = plan.label(key)
    built = build_candidate(bench, plan.request(key))
    runs = (
        []
        if isinstance(built, BuildFailure)
        else run_candidate(bench, built, signature, repeat, step_dir)
    )
    return make_step(number, role, key, label, built, runs, signature, repeat, started)


@dataclass(frozen=True)
class LabBench:
    """Builds with the lab's build cache and runs with `lab run`'s machinery."""

    variant: ArchVariant
    target: Target
    pressure: str = "none"
    timeout_s: float = 0.0  # per run; 0: the program's own
    seed: int = 0  # run i uses seed + i: the first repeats the original run's choices
    duration_s: int = 0
    fanout: int = 1  # one guest at a time here

    def build(self, request: BuildRequest) -> Built:
        start = time.monotonic()
        build = build_kernel(request)
        return Built(build.id, str(build.dir), kernel_digest(build), time.monotonic() - start)

    def run(self, built: Built, index: int, run_dir: Path) -> RunResult:
        suite = all_suites()[self.target.suite]
        program = next(p for p in suite.programs if p.name == self.target.program)
        if self.timeout_s:
            program = replace(program, timeout_s=self.timeout_s)
        arch = self.variant.profile
        request = RunRequest(
            arches=(arch,),
            suites=(replace(suite, programs=(program,)),),
            build=BuildRequest(arch=arch),
            results_root=run_dir.parent,
            kernel=built.dir,
            guest=GuestOptions(mmu=self.variant.mmu, pressure=self.pressure),
            knobs=new_knobs(self.seed + index, self.duration_s),
        )
        shutil.rmtree(run_dir, ignore_errors=True)  # what an interrupted bisect left
        run_dir.mkdir(parents=True)
        started, start = time.strftime("%Y-%m-%dT%H:%M:%S"), time.monotonic()
        outcome = run_arch(request, arch, run_dir)
        elapsed = time.monotonic() - start
        write_reports(run_dir, request, [outcome], started, elapsed, complete=True)
        return run_result(outcome, run_dir, self.target, elapsed)

    def run_many(self, built: Built, indexes: list[int], step_dir: Path) -> list[RunResult]:
        return [self.run(built, i, step_dir / f"run{i + 1}") for i in indexes]


def run_result(outcome: ArchRun, run_dir: Path, target: Target, elapsed: float) -> RunResult:
    """What a run of the target's program says, from its records and logs."""
    records = outcome.records
    record = next(
        (r for r in records if (r.suite, r.case) == (target.record_suite, target.record_case)), None
    )
    own = [
        r
        for r in records
        if r.suite == target.suite
        and (r.case == target.program or r.case.startswith(f"{target.program}/"))
    ]
    side = (f"{target.program}/kernel", f"{target.program}/pressure")
    if target.record_suite == "boot":
        completed = record is not None and not outcome.infra
    else:
        completed = any(r.case not in side and r.state != "infra" for r in own)
    infra = outcome.infra or next((r.message for r in own if r.state == "infra"), "")
    if record is not None:
        why = record if record.state != "pass" else None
    else:  # a crash, or a program that could not run
        why = next((r for r in own if r.state in ("fail", "infra")), None)
    arch_dir = run_dir / outcome.arch
    output = next(
        (
            p
            for p in (arch_dir / f"{target.program}.ktap", arch_dir / f"{target.program}.out")
            if p.exists()
        ),
        None,
    )
    return RunResult(
        state=record.state if record else "missing",
        problems=problem_titles(run_dir, [outcome.kernel_log, *outcome.console_logs]),
        infra=infra,
        completed=completed,
        duration_s=round(elapsed, 1),
        message=why.message if why else "",
        details=why.details if why else "",
        output=str(output or ""),
        kernel_log=str(run_dir / outcome.kernel_log) if outcome.kernel_log else "",
        run_dir=str(run_dir),
    )


def problem_titles(run_dir: Path, logs: list[str]) -> tuple[str, ...]:
    """The titles of the kernel reports in the run's logs, each once, in order."""
    allowlist = load_allowlist()
    titles: dict[str, None] = {}
    for log in logs:
        path = run_dir / log
        if log and path.is_file():
            text = path.read_text(errors="replace")
            titles.update(
                dict.fromkeys(p.title for p in find_problems(parse_kernel_log(text), allowlist))
            )
    return tuple(titles)
