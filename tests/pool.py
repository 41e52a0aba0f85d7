"""A worker pool on this machine for the tests: a private RabbitMQ node and `lab worker`
processes, each in its own session, stopped with nothing left running."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from celery import Celery

from lab.runtime.broker import LocalBroker
from lab.runtime.celery_app import make_app
from lab.runtime.reaper import marked_processes, stop_group

ROOT = Path(__file__).resolve().parent.parent
HOST = socket.gethostname()


@dataclass
class Worker:
    """A `lab worker` process in its own session (its pid is its process group)."""

    name: str
    queues: str
    log: Path
    process: subprocess.Popen


@dataclass
class Pool:
    """A broker, its workers and the submitter's app."""

    broker: LocalBroker
    app: Celery
    workers: dict[str, Worker] = field(default_factory=dict)

    def start_worker(
        self, name: str, queues: str, log: Path, extra_env: dict[str, str] | None = None
    ) -> None:
        env = dict(
            os.environ,
            **(extra_env or {}),
            FAULTLAB_BROKER=self.broker.url,
            FAULTLAB_EXTRA_TASKS="tests.celery_tasks",
            PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        )
        with open(log, "wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "lab", "worker", "--queues", queues, "--name", name],
                env=env,
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.workers[name] = Worker(name, queues, log, process)

    def wait_ready(self, timeout_s: float = 60.0) -> None:
        """Until every worker answers a control ping."""
        deadline = time.monotonic() + timeout_s
        waiting = set(self.workers)
        while waiting:
            for worker in self.workers.values():
                assert worker.process.poll() is None, (
                    f"{worker.name} exited:\n{worker.log.read_text()[-3000:]}"
                )
            assert time.monotonic() < deadline, f"workers {waiting} did not answer"
            replies = self.app.control.ping(destination=sorted(waiting), timeout=0.5)
            waiting -= {name for reply in replies for name in reply}

    def worker_of(self, pgid: int) -> Worker:
        (worker,) = (w for w in self.workers.values() if w.process.pid == pgid)
        return worker

    def leftovers(self) -> list[int]:
        """Live processes of the broker and of the workers."""
        return [*self.broker.processes(), *marked_processes("FAULTLAB_BROKER", self.broker.url)]

    def stop(self) -> None:
        for worker in self.workers.values():
            stop_group(worker.process, 30.0)  # SIGTERM: Celery's warm shutdown
        self.app.close()
        self.broker.stop()


@contextmanager
def running_pool(
    root: Path, workers: list[tuple[str, str]], env: dict[str, str] | None = None
) -> Iterator[Pool]:
    """A broker and `lab worker`s (name, queues), each logging to root/<name>.log; all
    stopped at the end."""
    broker = LocalBroker(root / "broker").start()
    print(f"\nbroker started in {broker.start_s:.1f}s")
    pool = Pool(broker, make_app(broker.url))
    try:
        start = time.monotonic()
        for name, queues in workers:
            pool.start_worker(name, queues, root / f"{name.split('@')[0]}.log", env or {})
        pool.wait_ready()
        print(f"workers ready in {time.monotonic() - start:.1f}s")
        yield pool
    finally:
        pool.stop()
