"""The nightly's two job specs, whatever runs them: build a kernel, and run one attempt of a
cell on a built kernel. Each is plain data (it travels as JSON to a worker) and each has the
function that does it and returns plain data."""

import io
import tarfile
import tempfile
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from lab.arch import get_arch
from lab.arch.variants import get_variant
from lab.bisect.policy import RunResult
from lab.bisect.steps import Built, LabBench
from lab.bisect.target import resolve_target
from lab.errors import InfraError, LabError
from lab.job import ArchRun, RunRequest, run_arch
from lab.kernel.build import build_kernel, builds_root, load_build
from lab.nightly.matrix import BuildSpec, Cell
from lab.results.records import CaseRecord
from lab.runtime.store import ArtifactStore
from lab.suites import all_suites, new_knobs


@dataclass(frozen=True)
class BuildJob:
    """Build one kernel of the matrix."""

    spec: BuildSpec
    flavour: str = "tiny"

    queue = "build"

    def to_dict(self) -> dict:
        return asdict(self)

    @staticmethod
    def from_dict(data: dict) -> "BuildJob":
        return BuildJob(BuildSpec(**data["spec"]), data["flavour"])


@dataclass(frozen=True)
class AttemptJob:
    """Boot a cell's kernel and run some of its suites once."""

    cell: Cell
    suites: tuple[str, ...]  # the cell's, or the ones run again
    seed: int
    build_id: str

    @property
    def queue(self) -> str:
        return f"qemu-{self.cell.arch}"

    def request(self, results_root: Path) -> RunRequest:
        """The `lab run` of this attempt."""
        suites = all_suites()
        cell = self.cell
        return RunRequest(arches=(get_arch(cell.arch),),
                          suites=tuple(suites[name] for name in self.suites),
                          build=cell.build.request(), results_root=results_root,
                          kernel=self.build_id or None, mmu=cell.mmu, pressure=cell.pressure,
                          knobs=new_knobs(self.seed, cell.duration_s))

    def to_dict(self) -> dict:
        return asdict(self)

    @staticmethod
    def from_dict(data: dict) -> "AttemptJob":
        cell = {**data["cell"], "suites": tuple(data["cell"]["suites"])}
        return AttemptJob(Cell(**cell), tuple(data["suites"]), data["seed"], data["build_id"])


def do_build(job: BuildJob, store: ArtifactStore | None = None) -> dict:
    """{'build_id': ...}, or {'error': ..., 'kind': ...} for a kernel that does not build."""
    try:
        build = build_kernel(job.spec.request(flavour=job.flavour), store)
    except LabError as e:
        return {"error": str(e), "kind": e.kind}
    return {"build_id": build.id}


def ensure_build(build_id: str, store: ArtifactStore | None) -> None:
    """Have the build in this machine's cache, from the store if it is not."""
    if (builds_root() / build_id / "metadata.json").exists():
        return
    if store is None or not store.fetch_build(build_id, builds_root() / build_id):
        raise InfraError(f"kernel {build_id} is neither in {builds_root()} nor in the "
                         "artifact store")
    load_build(build_id)


def do_attempt(job: AttemptJob, store: ArtifactStore) -> dict:
    """Run the attempt in a scratch directory; its files go to the store as one blob. The
    result: the ArchRun as a dict and the blob's digest."""
    with tempfile.TemporaryDirectory(prefix="faultlab-attempt-") as scratch:
        attempt_dir = Path(scratch) / "attempt"
        attempt_dir.mkdir()
        arch = get_arch(job.cell.arch)
        try:
            ensure_build(job.build_id, store)
            outcome = run_arch(job.request(attempt_dir.parent), arch, attempt_dir)
        except InfraError as e:
            outcome = ArchRun(arch.name, build_id=job.build_id, infra=str(e))
        logs = store.put_blob(pack(attempt_dir))
    return {"run": asdict(outcome), "logs": logs}


def pack(directory: Path) -> bytes:
    """A directory as an uncompressed tar (logs compress in the store's filesystem, if at
    all; tar keeps this simple)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for path in sorted(directory.rglob("*")):
            tar.add(path, arcname=str(path.relative_to(directory)), recursive=False)
    return buffer.getvalue()


def unpack(data: bytes, directory: Path) -> None:
    """Extract a pack() into `directory` (files only, no links or paths outside it)."""
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(directory, filter="data")


def arch_run(data: dict) -> ArchRun:
    """An ArchRun from its dict (as do_attempt returns it)."""
    records = [CaseRecord(**r) for r in data["records"]]
    return ArchRun(**{**data, "records": records})


@dataclass(frozen=True)
class BisectRunJob:
    """One run of a bisect candidate: the test's program on a built kernel, in a fresh
    guest (lab.bisect.steps.LabBench.run)."""

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
        return f"qemu-{get_variant(self.variant).profile.name}"

    def to_dict(self) -> dict:
        return asdict(self)

    @staticmethod
    def from_dict(data: dict) -> "BisectRunJob":
        return BisectRunJob(**data)

    def bench(self) -> LabBench:
        return LabBench(get_variant(self.variant), resolve_target(self.test, all_suites()),
                        pressure=self.pressure, timeout_s=self.timeout_s, seed=self.seed,
                        duration_s=self.duration_s)


def do_bisect_run(job: BisectRunJob, store: ArtifactStore) -> dict:
    """Run it in a scratch directory; the result's files go to the store as one blob."""
    ensure_build(job.build_id, store)
    with tempfile.TemporaryDirectory(prefix="faultlab-bisect-run-") as scratch:
        run_dir = Path(scratch) / "run"
        built = Built(job.build_id, str(builds_root() / job.build_id), "", 0.0)
        result = job.bench().run(built, job.index, run_dir)
        logs = store.put_blob(pack(run_dir))
    return {"result": asdict(result), "logs": logs, "scratch": str(run_dir)}


def moved_result(data: dict, run_dir: Path) -> RunResult:
    """A do_bisect_run result whose files were unpacked into `run_dir`."""
    scratch = data["scratch"]

    def here(path: str) -> str:
        return str(run_dir / Path(path).relative_to(scratch)) if path else ""

    result = RunResult(**{**data["result"], "problems": tuple(data["result"]["problems"])})
    return replace(result, output=here(result.output), kernel_log=here(result.kernel_log),
                   run_dir=str(run_dir))
