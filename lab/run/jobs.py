"""What a runtime runs and how it is asked to: jobs are plain data that travel as JSON, and
each knows how to do itself in a work directory; a runtime runs them here or on a worker
pool without knowing who sent them or what they do.

A job's wire form names its class (`module:Class`, a module of this package) and its
fields; the worker side rebuilds it from that and calls `execute`.
"""

import importlib
from pathlib import Path
from typing import Any, Protocol, Self

from lab.errors import InfraError, LabError
from lab.kernel.artifacts import ArtifactStore

BUILD_QUEUE = "build"  # kernel builds, for every arch


def qemu_queue(arch_name: str) -> str:
    """The queue of the jobs that boot `arch_name` guests."""
    return f"qemu-{arch_name}"


class RuntimeLost(InfraError):
    """The runtime itself is gone (a broker that went away): no more job can run, and what
    is running gives no result; the caller stops, keeping what finished."""


class Job(Protocol):
    """One unit of work: a kernel build, an attempt of a nightly cell, a bisect run."""

    @property
    def queue(self) -> str:
        """The pool queue whose workers can do it (lab/runtime/queues.py)."""
        ...

    def describe(self) -> str:
        """What it is, for progress lines."""
        ...

    def to_dict(self) -> dict[str, Any]: ...

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self: ...

    def execute(self, workdir: Path | None, store: ArtifactStore | None) -> dict[str, Any]:
        """Do it, its files in `workdir` (None: a job with no files); a JSON-able result.
        `store` shares builds between the machines of a pool (None: this machine only)."""
        ...


class Runtime(Protocol):
    """Runs jobs and hands back their results; where, is its business."""

    name: str

    def run(self, job: Job, workdir: Path | None = None) -> dict[str, Any]:
        """The job's result, its files in `workdir`; InfraError when the runtime could not
        run it (a worker pool that gave no result)."""
        ...

    def run_many(self, jobs: list[Job], workdirs: list[Path]) -> list[dict[str, Any] | InfraError]:
        """Those jobs at once where the runtime can, each result or why there is none."""
        ...

    def publish(self, build_dir: Path) -> None:
        """Make a kernel built here reachable to the runtime's workers."""
        ...

    def slots(self, jobs: int) -> int:
        """How many of `jobs` jobs to have in flight at once."""
        ...


def to_wire(job: Job) -> dict[str, Any]:
    """The job as JSON-able data naming its class."""
    kind = type(job)
    return {"type": f"{kind.__module__}:{kind.__qualname__}", "spec": job.to_dict()}


def from_wire(data: dict[str, Any]) -> Job:
    """The job a to_wire() described (classes of this package only)."""
    module, _, name = str(data.get("type", "")).partition(":")
    if not module.startswith("lab.") or not name.isidentifier():
        raise LabError(f"not a lab job type: {data.get('type')!r}")
    kind = getattr(importlib.import_module(module), name)
    return kind.from_dict(data["spec"])
