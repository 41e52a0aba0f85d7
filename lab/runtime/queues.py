"""The pool's queues, one per capability, and which of them this host can serve.

`build` builds kernels for every arch; `qemu-<arch>` boots and runs that arch's guests
(its guest programs are compiled there too). A worker takes only what its host can run.
"""

from lab.arch import ARCHES, ArchProfile
from lab.errors import UsageError
from lab.kernel.build import BUILD_TOOLS
from lab.kernel.toolchain import require
from lab.run.jobs import BUILD_QUEUE, qemu_queue

QUEUES = (BUILD_QUEUE, *(qemu_queue(name) for name in ARCHES))


def queue_tools(queue: str) -> tuple[str, ...]:
    """The host programs a queue's jobs run."""
    if queue == BUILD_QUEUE:
        return (*BUILD_TOOLS, *(arch.compiler for arch in ARCHES.values()))
    arch: ArchProfile = next(a for a in ARCHES.values() if qemu_queue(a.name) == queue)
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
