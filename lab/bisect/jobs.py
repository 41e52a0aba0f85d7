"""A bisect run as a job (lab/run/jobs.py), and the bench that sends a candidate's runs to a
runtime at once: candidates still build here, in the bisect's incremental build tree."""

import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from lab.arch.variants import get_variant
from lab.bisect.policy import RunResult
from lab.bisect.steps import Built, LabBench
from lab.bisect.target import resolve_target
from lab.errors import InfraError
from lab.kernel.artifacts import ArtifactStore
from lab.kernel.build import BuildRequest, ensure_build
from lab.run.jobs import Runtime, RuntimeLost, qemu_queue
from lab.suites.catalogue import all_suites

MAX_RUNS_AT_ONCE = 64


@dataclass(frozen=True)
class BisectRunJob:
    """One run of a bisect candidate: the test's program on a built kernel, in a fresh
    guest (LabBench.run)."""

    variant: str  # 'ppc64-hash'
    test: str  # 'suite/program/case'
    build_id: str
    index: int  # the run's number (from 0): its seed is the bisect's seed + index
    pressure: str = "none"
    timeout_s: float = 0.0
    seed: int = 0
    duration_s: int = 0

    @property
    def queue(self) -> str:
        return qemu_queue(get_variant(self.variant).profile.name)

    def describe(self) -> str:
        return f"run {self.index + 1} of {self.test} on {self.build_id}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "BisectRunJob":
        return cls(**data)

    def bench(self) -> LabBench:
        return LabBench(
            get_variant(self.variant),
            resolve_target(self.test, all_suites()),
            pressure=self.pressure,
            timeout_s=self.timeout_s,
            seed=self.seed,
            duration_s=self.duration_s,
        )

    def execute(self, workdir: Path | None, store: ArtifactStore | None) -> dict[str, Any]:
        """The RunResult as a dict; its files in `workdir`."""
        assert workdir is not None, "a run writes its logs"
        build = ensure_build(self.build_id, store)
        built = Built(self.build_id, str(build.dir), "", 0.0)
        return asdict(self.bench().run(built, self.index, workdir))


def run_result(data: dict[str, Any]) -> RunResult:
    """A RunResult from its dict (as BisectRunJob.execute returns it)."""
    return RunResult(**{**data, "problems": tuple(data["problems"])})


class RuntimeBench:
    """A bisect bench whose runs go to a runtime: the runs a verdict needs go at once."""

    def __init__(self, local: LabBench, runtime: Runtime):
        self.local, self.runtime = local, runtime
        self.fanout = runtime.slots(MAX_RUNS_AT_ONCE)

    def build(self, request: BuildRequest) -> Built:
        built = self.local.build(request)
        self.runtime.publish(Path(built.dir))
        return built

    def run(self, built: Built, index: int, run_dir: Path) -> RunResult:
        return self.run_many(built, [index], run_dir.parent)[0]

    def run_many(self, built: Built, indexes: list[int], step_dir: Path) -> list[RunResult]:
        local = self.local
        jobs = [
            BisectRunJob(
                local.variant.name,
                local.target.test,
                built.build_id,
                index,
                local.pressure,
                local.timeout_s,
                local.seed,
                local.duration_s,
            )
            for index in indexes
        ]
        run_dirs = [step_dir / f"run{index + 1}" for index in indexes]
        for run_dir in run_dirs:
            shutil.rmtree(run_dir, ignore_errors=True)  # what an interrupted bisect left
        results = []
        for run_dir, value in zip(run_dirs, self.runtime.run_many(jobs, run_dirs), strict=True):
            if isinstance(value, RuntimeLost):
                raise value
            if isinstance(value, InfraError):
                results.append(
                    RunResult("missing", infra=str(value), completed=False, run_dir=str(run_dir))
                )
            else:
                results.append(run_result(value))
        return results
