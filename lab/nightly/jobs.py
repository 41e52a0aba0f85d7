"""The nightly's two jobs, whatever runtime runs them: build a kernel of the matrix, and run
one attempt of a cell on its built kernel (lab/run/jobs.py says what a job is)."""

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from lab.arch import get_arch
from lab.errors import BuildError, InfraError, LabError
from lab.kernel.artifacts import ArtifactStore
from lab.kernel.build import build_kernel, ensure_build
from lab.nightly.matrix import BuildSpec, Cell
from lab.results.records import CaseRecord
from lab.run.jobs import BUILD_QUEUE, Runtime, RuntimeLost, qemu_queue
from lab.run.lab_run import ArchRun, RunRequest, infra_records, run_arch
from lab.run.machine import GuestOptions
from lab.suites.catalogue import all_suites
from lab.suites.knobs import new_knobs


@dataclass(frozen=True)
class BuildJob:
    """Build one kernel of the matrix (of its spec's flavour)."""

    spec: BuildSpec

    queue = BUILD_QUEUE

    def describe(self) -> str:
        spec = self.spec
        return f"build {spec.source} {spec.series or '(no series)'} {spec.arch} ({spec.flavour})"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "BuildJob":
        return cls(BuildSpec(**data["spec"]))

    def execute(self, workdir: Path | None, store: ArtifactStore | None) -> dict[str, Any]:
        """{'build_id': ...}, or {'error': ...} for a kernel that does not build (a patch
        that does not apply is a build failure of its cells too)."""
        try:
            build = build_kernel(self.spec.request(), store)
        except LabError as e:
            return {"error": str(e)}
        return {"build_id": build.id}


@dataclass(frozen=True)
class AttemptJob:
    """Boot a cell's kernel and run some of its suites once."""

    cell: Cell
    suites: tuple[str, ...]  # the cell's, or the ones run again
    seed: int
    build_id: str

    @property
    def queue(self) -> str:
        return qemu_queue(self.cell.arch)

    def describe(self) -> str:
        return f"{self.cell.key} ({', '.join(self.suites)})"

    def request(self, results_root: Path) -> RunRequest:
        """The `lab run` of this attempt."""
        suites = all_suites()
        cell = self.cell
        return RunRequest(
            arches=(get_arch(cell.arch),),
            suites=tuple(suites[name] for name in self.suites),
            build=cell.build.request(),
            results_root=results_root,
            kernel=self.build_id or None,
            guest=GuestOptions(mmu=cell.mmu, pressure=cell.pressure),
            knobs=new_knobs(self.seed, cell.duration_s),
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "AttemptJob":
        cell = {**data["cell"], "suites": tuple(data["cell"]["suites"])}
        return cls(Cell(**cell), tuple(data["suites"]), data["seed"], data["build_id"])

    def execute(self, workdir: Path | None, store: ArtifactStore | None) -> dict[str, Any]:
        """{'run': the ArchRun as a dict}; its files in `workdir`."""
        assert workdir is not None, "an attempt writes its logs"
        arch = get_arch(self.cell.arch)
        try:
            ensure_build(self.build_id, store)
            outcome = run_arch(self.request(workdir.parent), arch, workdir)
        except InfraError as e:
            outcome = ArchRun(arch.name, build_id=self.build_id, infra=str(e))
        return {"run": asdict(outcome)}


def arch_run(data: dict[str, Any]) -> ArchRun:
    """An ArchRun from its dict (as AttemptJob.execute returns it)."""
    records = [CaseRecord(**r) for r in data["records"]]
    return ArchRun(**{**data, "records": records})


def built(runtime: Runtime, job: BuildJob) -> str | LabError:
    """The build id, or why the kernel did not build (or the runtime did not build it)."""
    try:
        value = runtime.run(job)
    except RuntimeLost:
        raise
    except InfraError as e:
        return e
    return value["build_id"] if "build_id" in value else BuildError(value["error"])


def attempted(runtime: Runtime, job: AttemptJob, attempt_dir: Path) -> ArchRun:
    """The attempt's outcome; every program infra when the runtime could not run it."""
    try:
        return arch_run(runtime.run(job, attempt_dir)["run"])
    except RuntimeLost:
        raise
    except InfraError as e:
        request = job.request(attempt_dir.parent)
        return ArchRun(
            job.cell.arch,
            build_id=job.build_id,
            infra=str(e),
            records=infra_records(job.cell.arch, request.suites, f"{e.kind}: {e}"),
        )
