"""The pool's queues, one per capability, and which of them this host can serve.

`build` builds kernels for every arch; `qemu-<arch>` boots and runs that arch's guests
(its guest programs are compiled there too). A worker takes only what its host can run.
"""

import shutil

from lab.arch import ARCHES, ArchProfile
from lab.errors import UsageError
from lab.kernel.build import BUILD_TOOLS
from lab.kernel.toolchain import require

BUILD_QUEUE = "build"
QUEUES = (BUILD_QUEUE, *(f"qemu-{name}" for name in ARCHES))


def qemu_queue(arch: str) -> str:
    """The queue of the jobs that boot `arch` guests."""
    return f"qemu-{arch}"


def queue_tools(queue: str) -> tuple[str, ...]:
    """The host programs a queue's jobs run."""
    if queue == BUILD_QUEUE:
        return (*BUILD_TOOLS, *(arch.compiler for arch in ARCHES.values()))
    arch: ArchProfile = ARCHES[queue.removeprefix("qemu-")]
    return (arch.qemu_binary, arch.compiler)


def parse_queues(spec: str) -> tuple[str, ...]:
    """'build,qemu-ppc64' -> its queues; an unknown name is a UsageError."""
    names = tuple(dict.fromkeys(n.strip() for n in spec.split(",") if n.strip()))
    if not names:
        raise UsageError(f"no queue given; queues: {', '.join(QUEUES)}")
    for name in names:
        if name not in QUEUES:
            raise UsageError(f"unknown queue {name!r}; queues: {', '.join(QUEUES)}")
    return names


def require_queue(queue: str) -> None:
    """A UsageError naming the missing program and its Debian package when this host cannot
    run the queue's jobs."""
    for program in queue_tools(queue):
        try:
            require(program)
        except UsageError as e:
            raise UsageError(f"this host cannot serve queue {queue}: {e}") from None


def servable_queues() -> tuple[str, ...]:
    """The queues whose every program this host has."""
    return tuple(q for q in QUEUES if all(shutil.which(p) for p in queue_tools(q)))
