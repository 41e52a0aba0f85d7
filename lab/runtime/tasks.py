"""The pool's tasks, registered by name on whichever app imports this module.

lab.build and lab.run_attempt are the nightly's jobs (lab/runtime/jobs.py); lab.ping tells
what a worker is.
"""

from dataclasses import asdict

from celery import shared_task

from lab.runtime.hostinfo import host_info
from lab.runtime.jobs import (
    AttemptJob,
    BisectRunJob,
    BuildJob,
    do_attempt,
    do_bisect_run,
    do_build,
)
from lab.runtime.store import default_store


@shared_task(name="lab.ping", bind=True)
def ping(self) -> dict:
    """The worker's host name, node, queues, lab version and per-arch tools."""
    queues = tuple(sorted(q.name for q in self.app.amqp.queues.consume_from.values()))
    return asdict(host_info(self.request.hostname or "", queues))


@shared_task(name="lab.build")
def build(job: dict) -> dict:
    """Build one kernel of a matrix (a BuildJob), sharing it through the artifact store."""
    return do_build(BuildJob.from_dict(job), default_store())


@shared_task(name="lab.run_attempt", bind=True)
def run_attempt(self, job: dict) -> dict:
    """Boot a cell's kernel and run its suites once (an AttemptJob); its files go to the
    artifact store."""
    return {**do_attempt(AttemptJob.from_dict(job), default_store()),
            "worker": self.request.hostname}


@shared_task(name="lab.bisect_run", bind=True)
def bisect_run(self, job: dict) -> dict:
    """One run of a bisect candidate (a BisectRunJob); its files go to the artifact store."""
    return {**do_bisect_run(BisectRunJob.from_dict(job), default_store()),
            "worker": self.request.hostname}
