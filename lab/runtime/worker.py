"""`lab worker`: a Celery worker in the foreground for the queues this host can serve."""

from dataclasses import dataclass

from celery.utils.nodenames import default_nodename, host_format
from kombu.utils.url import maybe_sanitize_url

from lab.errors import UsageError
from lab.runtime.celery_app import broker_from_env, make_app
from lab.runtime.queues import require_queue

DEFAULT_NAME = "faultlab@%h"  # Celery puts the host name for %h


@dataclass(frozen=True)
class WorkerOptions:
    """A `lab worker` invocation."""

    queues: tuple[str, ...]
    concurrency: int = 1  # jobs at once
    name: str = DEFAULT_NAME  # each worker on one host needs its own
    broker: str = ""  # default: $FAULTLAB_BROKER, else a broker on this host
    loglevel: str = "INFO"


def worker_argv(options: WorkerOptions) -> list[str]:
    """The `celery worker` arguments: prefork (time limits need it), no mingle or gossip
    (nothing to sync between workers; a faster start)."""
    return [
        "worker",
        "--queues",
        ",".join(options.queues),
        "--concurrency",
        str(options.concurrency),
        "--hostname",
        options.name,
        "--pool",
        "prefork",
        "--loglevel",
        options.loglevel,
        "--without-mingle",
        "--without-gossip",
    ]


def run_worker(options: WorkerOptions) -> int:
    """Check that this host can run the queues' jobs, then serve them until stopped."""
    if options.concurrency < 1:
        raise UsageError(f"--concurrency {options.concurrency}: at least 1")
    for queue in options.queues:
        require_queue(queue)
    url = options.broker or broker_from_env()
    name = host_format(default_nodename(options.name))
    print(
        f"lab worker {name}: queues {', '.join(options.queues)} of broker "
        f"{maybe_sanitize_url(url)}",
        flush=True,
    )
    app = make_app(url)
    return app.worker_main(worker_argv(options)) or 0
