"""What a worker host is: its name, the lab's version, and the arches it has tools for."""

import shutil
import socket
from dataclasses import dataclass
from functools import cache
from importlib.metadata import PackageNotFoundError, version

from lab import paths, proc
from lab.arch import ARCHES


@dataclass(frozen=True)
class ArchTools:
    """One arch's QEMU binary and (cross) compiler on this host: their paths, '' if absent."""

    qemu: str
    compiler: str


@dataclass(frozen=True)
class HostInfo:
    """A worker's answer to lab.ping."""

    host: str
    node: str  # the worker's Celery node name
    queues: tuple[str, ...]  # the queues it serves
    version: str  # the lab's package version
    commit: str  # `git describe --always --dirty` of its checkout, '' if none
    arches: dict[str, ArchTools]


def lab_version() -> str:
    try:
        return version("faultlab")
    except PackageNotFoundError:
        return "unknown"


@cache
def lab_commit() -> str:
    """The lab checkout's commit ('-dirty' with local changes), '' outside git."""
    result = proc.run(
        ["git", "-C", str(paths.PROJECT_ROOT), "describe", "--always", "--dirty"], check=False
    )
    return result.stdout.strip() if result.returncode == 0 else ""


def arch_tools() -> dict[str, ArchTools]:
    return {
        name: ArchTools(shutil.which(arch.qemu_binary) or "", shutil.which(arch.compiler) or "")
        for name, arch in ARCHES.items()
    }


def host_info(node: str, queues: tuple[str, ...]) -> HostInfo:
    return HostInfo(socket.gethostname(), node, queues, lab_version(), lab_commit(), arch_tools())
