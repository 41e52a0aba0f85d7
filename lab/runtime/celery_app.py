"""The Celery app of the worker pool: one for the submitter and for every worker.

Long jobs and lost workers: a message is acknowledged only after its task finished
(acks_late), a worker reserves one message at a time (prefetch 1), a task whose worker
process died goes back to the queue (reject_on_worker_lost), and a worker that lost its
broker connection stops its running tasks, whose messages the broker hands to another
worker. Results come back as AMQP messages to the submitter (rpc://).
"""

import os
from dataclasses import dataclass

from celery import Celery
from kombu import Exchange, Queue

from lab.runtime.queues import BUILD_QUEUE, QUEUES

DEFAULT_BROKER = "amqp://guest:guest@127.0.0.1:5672//"
TASK_MODULES = ("lab.runtime.tasks",)


@dataclass(frozen=True)
class TimeLimits:
    """Per task: the soft limit raises SoftTimeLimitExceeded in it, the hard one kills its
    process. Both stay below the broker's consumer_timeout (lab/runtime/broker.py)."""

    soft_s: float = 3 * 3600
    hard_s: float = 3 * 3600 + 600


def broker_from_env() -> str:
    """$FAULTLAB_BROKER, else a broker on this host."""
    return os.environ.get("FAULTLAB_BROKER") or DEFAULT_BROKER


def extra_task_modules() -> tuple[str, ...]:
    """More task modules, from $FAULTLAB_EXTRA_TASKS (comma-separated module names)."""
    spec = os.environ.get("FAULTLAB_EXTRA_TASKS", "")
    return tuple(name.strip() for name in spec.split(",") if name.strip())


def queue(name: str) -> Queue:
    """A durable queue on its own direct exchange: a job sent to it reaches it alone."""
    return Queue(name, Exchange(name, type="direct"), routing_key=name)


def make_app(broker_url: str, limits: TimeLimits = TimeLimits()) -> Celery:
    """The pool's app on this broker, its tasks registered."""
    app = Celery(
        "faultlab",
        broker=broker_url,
        backend="rpc://",
        include=[*TASK_MODULES, *extra_task_modules()],
    )
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        worker_cancel_long_running_tasks_on_connection_loss=True,
        task_soft_time_limit=limits.soft_s,
        task_time_limit=limits.hard_s,
        task_queues=[queue(name) for name in QUEUES],
        task_default_queue=BUILD_QUEUE,
        task_create_missing_queues=False,  # a job for no queue of the pool is an error
        task_track_started=True,
        broker_connection_retry_on_startup=True,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        result_accept_content=["json"],
    )
    return app
