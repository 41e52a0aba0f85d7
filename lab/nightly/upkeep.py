"""What a cron-run nightly needs around it: one night at a time, old results pruned, disk
usage shown."""

import fcntl
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from lab import paths
from lab.errors import UsageError

NIGHTLY_MARKER = "nightly.json"  # a results directory holding one night


def lock_path() -> Path:
    return paths.cache_root() / "nightly.lock"


@contextmanager
def nightly_lock(path: Path | None = None) -> Iterator[None]:
    """Hold the nightly lock, or fail at once naming the night that holds it: two nights
    never share a build tree."""
    path = path or lock_path()
    with open(path, "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip() or "another process"
            raise UsageError(f"a nightly is already running ({holder}; lock {path})") from None
        f.seek(0)
        f.truncate()
        f.write(f"pid {os.getpid()}\n")
        f.flush()
        try:
            yield
        finally:
            f.truncate(0)
            fcntl.flock(f, fcntl.LOCK_UN)


def nights(results_root: Path) -> list[Path]:
    """The nights' results directories, oldest first (their names are timestamps)."""
    if not results_root.is_dir():
        return []
    return sorted(p for p in results_root.iterdir() if (p / NIGHTLY_MARKER).is_file())


def prune_nights(results_root: Path, keep: int) -> list[Path]:
    """Delete all but the newest `keep` nights' results directories (their rows stay in the
    history); return what was deleted."""
    if keep < 1:
        raise UsageError(f"--keep must be at least 1, not {keep}")
    old = nights(results_root)[:-keep]
    for night in old:
        shutil.rmtree(night)
    return old


@dataclass(frozen=True)
class DiskUsage:
    """Bytes used by the results, the built kernels and the history, and free on the cache's
    file system (the reused build trees are not walked: they hold millions of files)."""

    results: int
    builds: int
    history: int
    free: int

    def describe(self) -> str:
        return (
            f"disk: results {human(self.results)}, kernel builds {human(self.builds)}, "
            f"history {human(self.history)}; {human(self.free)} free"
        )


def tree_bytes(root: Path) -> int:
    """The allocated size of every file under root (symlinks not followed)."""
    total = 0
    for base, _, files in os.walk(root):
        for name in files:
            try:
                total += os.lstat(os.path.join(base, name)).st_blocks * 512
            except OSError:
                continue
    return total


def disk_usage(results_root: Path, history: Path) -> DiskUsage:
    cache = paths.cache_root()
    return DiskUsage(
        tree_bytes(results_root),
        tree_bytes(cache / "builds"),
        history.stat().st_size if history.exists() else 0,
        shutil.disk_usage(cache).free,
    )


def human(size: int) -> str:
    """1536 -> '1.5 KiB'."""
    value = float(size)
    for unit in ("B", "KiB", "MiB"):
        if value < 1024:
            return f"{value:.0f} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"
