"""Where the lab keeps its caches and its results history, and where the project's own data
lives."""

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import platformdirs

PROJECT_ROOT = Path(__file__).resolve().parent.parent
KERNELS_DIR = PROJECT_ROOT / "kernels"
CONFIGS_DIR = KERNELS_DIR / "configs"
IMAGES_DIR = PROJECT_ROOT / "images"
TESTSUITES_DIR = PROJECT_ROOT / "testsuites"


def cache_root() -> Path:
    """The lab's cache: $FAULTLAB_CACHE, else the user's cache directory."""
    env = os.environ.get("FAULTLAB_CACHE")
    root = Path(env) if env else Path(platformdirs.user_cache_dir("faultlab"))
    root.mkdir(parents=True, exist_ok=True)
    return root


def cache_dir(*parts: str) -> Path:
    """A sub-directory of the cache, created on demand."""
    path = cache_root().joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def history_path() -> Path:
    """The results history database: $FAULTLAB_HISTORY, else history.sqlite in the user's
    data directory."""
    env = os.environ.get("FAULTLAB_HISTORY")
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_data_dir("faultlab")) / "history.sqlite"


@contextmanager
def cache_lock(name: str) -> Iterator[None]:
    """Hold an exclusive lock of the cache called `name` (lab commands that would fill the
    same cache entry at once take turns)."""
    with open(cache_dir("locks") / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield
