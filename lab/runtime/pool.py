"""The `celery` runtime: jobs go to a worker pool through the broker, each to the queue of
what it needs (build, qemu-<arch>); results come back through the result backend, files
through the artifact store. A job whose worker died is delivered again to another worker
(acks late): the submitter takes exactly one result per job."""

import threading
import time
from pathlib import Path
from typing import Any

from celery import Celery
from celery.result import AsyncResult
from kombu.exceptions import OperationalError

from lab.errors import InfraError
from lab.progress import note
from lab.run.jobs import Job, RuntimeLost, to_wire
from lab.runtime.packing import relocate, unpack
from lab.runtime.store import DirectoryStore
from lab.runtime.tasks import JOB_TASK

MAX_IN_FLIGHT = 64  # jobs submitted at once; the broker queues them for the workers
POLL_S = 0.5


class CeleryRuntime:
    """Submit jobs to the pool and wait for their results."""

    name = "celery"

    def __init__(self, app: Celery, store: DirectoryStore, timeout_s: float):
        self.app, self.store, self.timeout_s = app, store, timeout_s
        self.lock = threading.Lock()

    def check_broker(self, timeout_s: float = 10.0) -> None:
        """An InfraError, before any work, when the broker does not answer."""
        try:
            with self.app.connection_for_write() as connection:
                connection.ensure_connection(max_retries=1, timeout=timeout_s)
        except Exception as e:  # kombu's OperationalError, socket errors, a bad URL
            raise InfraError(
                f"the broker {self.app.connection_for_write().as_uri()} does not answer: {e}"
            ) from e

    def send(self, job: Job, files: bool) -> AsyncResult:
        """Put the job in its queue."""
        with self.lock:
            try:
                result = self.app.send_task(JOB_TASK, args=[to_wire(job), files], queue=job.queue)
            except (OSError, OperationalError) as e:
                raise RuntimeLost(f"the broker refused {job.describe()}: {e}") from e
        note(f"pool: {job.describe()} sent to queue {job.queue} (task {result.id})")
        return result

    def wait(self, result: AsyncResult, job: Job) -> dict[str, Any]:
        """The job's one result. The rpc:// result consumer is not thread-safe, and each
        nightly cell's thread waits here: they take turns looking."""
        deadline = time.monotonic() + self.timeout_s
        what = job.describe()
        try:
            while True:
                with self.lock:
                    if result.ready():
                        return result.get(timeout=POLL_S, propagate=True)
                if time.monotonic() > deadline:
                    raise InfraError(
                        f"{what}: no result from the pool in "
                        f"{self.timeout_s:.0f}s (is a worker serving queue "
                        f"{job.queue}?)"
                    )
                time.sleep(POLL_S)
        except InfraError:
            raise
        except (OSError, OperationalError) as e:  # the broker went away
            raise RuntimeLost(
                f"the broker stopped answering while waiting for {what}: {type(e).__name__}: {e}"
            ) from e
        except Exception as e:  # the task raised on its worker
            raise InfraError(f"{what} failed on its worker: {type(e).__name__}: {e}") from e

    def received(self, value: dict[str, Any], job: Job, workdir: Path | None) -> dict[str, Any]:
        """The job's result, its files unpacked into `workdir` and its paths moved there."""
        note(f"pool: {job.describe()} ran on {value['worker']}")
        if workdir is None:
            return value["result"]
        workdir.mkdir(parents=True, exist_ok=True)
        unpack(self.store.get_blob(value["logs"]), workdir)
        return relocate(value["result"], value["scratch"], str(workdir))

    def run(self, job: Job, workdir: Path | None = None) -> dict[str, Any]:
        value = self.wait(self.send(job, workdir is not None), job)
        return self.received(value, job, workdir)

    def run_many(self, jobs: list[Job], workdirs: list[Path]) -> list[dict[str, Any] | InfraError]:
        sent = [self.send(job, True) for job in jobs]
        results: list[dict[str, Any] | InfraError] = []
        for job, workdir, result in zip(jobs, workdirs, sent, strict=True):
            try:
                results.append(self.received(self.wait(result, job), job, workdir))
            except InfraError as e:
                results.append(e)
        return results

    def publish(self, build_dir: Path) -> None:
        self.store.put_build(build_dir)

    def slots(self, jobs: int) -> int:
        return max(1, min(jobs, MAX_IN_FLIGHT))
