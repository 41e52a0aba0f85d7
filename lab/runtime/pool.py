"""The `celery` runtime: the nightly's jobs go to a worker pool through the broker, each to
the queue of what it needs (build, qemu-<arch>); results come back through the result
backend and the artifact store. A job whose worker died is delivered again to another
worker (acks late): the submitter takes exactly one result per job."""

import shutil
import threading
import time
from pathlib import Path

from celery import Celery
from celery.result import AsyncResult

from lab.bisect.policy import RunResult
from lab.bisect.steps import Built, LabBench
from lab.errors import BuildError, InfraError, LabError
from lab.job import ArchRun, infra_records
from lab.kernel.build import BuildRequest
from lab.progress import note
from lab.runtime.jobs import (
    AttemptJob,
    BisectRunJob,
    BuildJob,
    arch_run,
    moved_result,
    unpack,
)
from lab.runtime.store import ArtifactStore

MAX_IN_FLIGHT = 64  # cells submitted at once; the broker queues them for the workers
POLL_S = 0.5
Job = AttemptJob | BuildJob | BisectRunJob


class CeleryRuntime:
    """Submit jobs to the pool and wait for their results."""

    name = "celery"

    def __init__(self, app: Celery, store: ArtifactStore, timeout_s: float):
        self.app, self.store, self.timeout_s = app, store, timeout_s
        self.lock = threading.Lock()

    def send(self, task: str, job: Job, what: str) -> AsyncResult:
        """Put the job in its queue."""
        with self.lock:
            result = self.app.send_task(task, args=[job.to_dict()], queue=job.queue)
        note(f"pool: {what} sent to queue {job.queue} (task {result.id})")
        return result

    def wait(self, result: AsyncResult, job: Job, what: str) -> dict:
        """The job's one result. The rpc:// result consumer is not thread-safe, and each
        cell's thread waits here: they take turns looking."""
        deadline = time.monotonic() + self.timeout_s
        try:
            while True:
                with self.lock:
                    if result.ready():
                        return result.get(timeout=POLL_S, propagate=True)
                if time.monotonic() > deadline:
                    raise InfraError(f"{what}: no result from the pool in "
                                     f"{self.timeout_s:.0f}s (is a worker serving queue "
                                     f"{job.queue}?)")
                time.sleep(POLL_S)
        except InfraError:
            raise
        except Exception as e:  # the task raised on its worker, or the broker failed
            raise InfraError(f"{what} failed on its worker: {type(e).__name__}: {e}") from e

    def _result(self, task: str, job: Job, what: str) -> dict:
        return self.wait(self.send(task, job, what), job, what)

    def build(self, job: BuildJob) -> str | LabError:
        what = f"build {job.spec.source} {job.spec.series or '(no series)'} {job.spec.arch}"
        try:
            value = self._result("lab.build", job, what)
        except InfraError as e:
            return e
        if "error" in value:
            return BuildError(value["error"])
        return value["build_id"]

    def run_attempt(self, job: AttemptJob, attempt_dir: Path) -> ArchRun:
        what = f"{job.cell.key} ({', '.join(job.suites)})"
        try:
            value = self._result("lab.run_attempt", job, what)
        except InfraError as e:
            request = job.request(attempt_dir.parent)
            return ArchRun(job.cell.arch, build_id=job.build_id, infra=str(e),
                           records=infra_records(job.cell.arch, request.suites,
                                                 f"{e.kind}: {e}"))
        unpack(self.store.get_blob(value["logs"]), attempt_dir)
        note(f"pool: {what} ran on {value['worker']}")
        return arch_run(value["run"])

    def slots(self, cells: int) -> int:
        return max(1, min(cells, MAX_IN_FLIGHT))


class PoolBench:
    """A bisect bench on the pool: candidates build here (and go to the store, for the
    workers), and the runs a verdict needs go to the workers at once."""

    def __init__(self, local: LabBench, runtime: CeleryRuntime):
        self.local, self.runtime = local, runtime
        self.fanout = MAX_IN_FLIGHT

    def build(self, request: BuildRequest) -> Built:
        built = self.local.build(request)
        self.runtime.store.put_build(Path(built.dir))
        return built

    def run(self, built: Built, index: int, run_dir: Path) -> RunResult:
        return self.run_many(built, [index], run_dir.parent)[0]

    def run_many(self, built: Built, indexes: list[int], step_dir: Path) -> list[RunResult]:
        local = self.local
        jobs = [BisectRunJob(local.variant.name, local.target.test, built.build_id, index,
                             local.pressure, local.timeout_s, local.seed, local.duration_s)
                for index in indexes]
        sent = [(job, self.runtime.send("lab.bisect_run", job, f"run {job.index + 1}"))
                for job in jobs]
        results = []
        for job, result in sent:
            run_dir = step_dir / f"run{job.index + 1}"
            shutil.rmtree(run_dir, ignore_errors=True)  # what an interrupted bisect left
            run_dir.mkdir(parents=True)
            try:
                value = self.runtime.wait(result, job, f"run {job.index + 1}")
            except InfraError as e:
                results.append(RunResult("missing", infra=str(e), completed=False,
                                         run_dir=str(run_dir)))
                continue
            unpack(self.runtime.store.get_blob(value["logs"]), run_dir)
            results.append(moved_result(value, run_dir))
        return results
