"""Scratch directories of a lab process, and the sweeping up of those a killed process left.

Each is /tmp/faultlab-<kind>-<pid>-<random> (short: QEMU's unix sockets live in a guest's,
and a socket path has at most 107 bytes). A process removes its own on every exit path it
can catch; what a SIGKILL left behind, the next lab command (or `lab doctor`) removes,
once the process that made it is gone.
"""

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PREFIX = "faultlab-"
_NAME = re.compile(rf"^{PREFIX}[a-z0-9]+(?:-[a-z0-9]+)*?-(\d+)-[A-Za-z0-9_]+$")


def new_scratch_dir(kind: str) -> Path:
    """A new scratch directory; the caller removes it (remove_scratch_dir)."""
    return Path(tempfile.mkdtemp(prefix=f"{PREFIX}{kind}-{os.getpid()}-"))


def remove_scratch_dir(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


@contextmanager
def scratch_dir(kind: str) -> Iterator[Path]:
    """A scratch directory for the `with` block."""
    path = new_scratch_dir(kind)
    try:
        yield path
    finally:
        remove_scratch_dir(path)


def owner_of(path: Path) -> int | None:
    """The pid in a scratch directory's name."""
    match = _NAME.match(path.name)
    return int(match[1]) if match else None


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def sweep(root: Path | None = None) -> list[Path]:
    """Remove the scratch directories whose process is gone; the ones removed."""
    root = root or Path(tempfile.gettempdir())
    removed = []
    for path in root.glob(f"{PREFIX}*"):
        pid = owner_of(path)
        if pid is not None and pid != os.getpid() and not alive(pid) and path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed
