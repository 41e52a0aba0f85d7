"""A test-only task for the worker pool's tests (workers import it through
FAULTLAB_EXTRA_TASKS=tests.celery_tasks): it shows where and how often a task ran."""

import os
import time

from celery import shared_task


def append_line(path: str, line: str) -> None:
    with open(path, "a") as f:
        f.write(line + "\n")


@shared_task(name="tests.sleep_then_write", bind=True)
def sleep_then_write(self, path: str, seconds: float, token: str) -> dict:
    """Append 'started TOKEN PGID NODE TIME' to `path`, sleep, append 'done ...' alike.
    PGID is the worker's process group (a test starts each worker in its own session)."""
    where = f"{token} {os.getpgid(0)} {self.request.hostname}"
    append_line(path, f"started {where} {time.time():.3f}")
    time.sleep(seconds)
    append_line(path, f"done {where} {time.time():.3f}")
    return {
        "token": token,
        "node": self.request.hostname,
        "pgid": os.getpgid(0),
        "redelivered": bool((self.request.delivery_info or {}).get("redelivered")),
    }
