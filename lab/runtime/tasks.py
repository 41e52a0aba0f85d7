"""The pool's tasks, registered by name on whichever app imports this module: lab.job runs
any job (lab/run/jobs.py) blind to who sent it; lab.ping tells what a worker is."""

from dataclasses import asdict
from typing import Any

from celery import shared_task
from celery.utils.log import get_task_logger

from lab.run.jobs import from_wire
from lab.runtime.hostinfo import host_info
from lab.runtime.packing import pack
from lab.runtime.store import default_store
from lab.scratch import new_scratch_dir, remove_scratch_dir

JOB_TASK = "lab.job"
log = get_task_logger(__name__)


@shared_task(name="lab.ping", bind=True)
def ping(self) -> dict:
    """The worker's host name, node, queues, lab version and per-arch tools."""
    queues = tuple(sorted(q.name for q in self.app.amqp.queues.consume_from.values()))
    return asdict(host_info(self.request.hostname or "", queues))


@shared_task(name=JOB_TASK, bind=True)
def run_job(self, wire: dict[str, Any], files: bool) -> dict[str, Any]:
    """Run a job; with `files`, in a scratch directory whose files go to the artifact store
    as one blob (the submitter unpacks it where the job's files belong)."""
    job, store = from_wire(wire), default_store()
    log.info("running %s: %s", wire["type"], job.describe())  # "lab.job[<id>]: running ..."
    done = {"worker": self.request.hostname}
    if not files:
        return {**done, "result": job.execute(None, store)}
    scratch = new_scratch_dir("job")
    try:
        workdir = scratch / "work"
        workdir.mkdir()
        result = job.execute(workdir, store)
        return {
            **done,
            "result": result,
            "logs": store.put_blob(pack(workdir)),
            "scratch": str(workdir),
        }
    finally:
        remove_scratch_dir(scratch)
