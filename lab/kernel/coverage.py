"""Coverage builds: gcov counters for mm/ only, and the compile-time notes gcov needs."""

import shutil
from pathlib import Path

from lab import paths
from lab.kernel.gitrepo import commit_all

FRAGMENT = paths.CONFIGS_DIR / "coverage.config"
INSTRUMENTED = ("mm",)  # kernel directories built with gcov profiling
NOTES_DIR = "gcov"  # in the artifact: <dir>/*.gcno and the <dir>/*.c they were built from


def instrument(src: Path) -> None:
    """Turn on gcov profiling for the instrumented directories, as a commit of the tree (so
    the tree hash, and the build id, differ from the plain build's)."""
    for directory in INSTRUMENTED:
        makefile = src / directory / "Makefile"
        makefile.write_text(
            makefile.read_text() + "\n# faultlab coverage build\nGCOV_PROFILE := y\n"
        )
    commit_all(src, "faultlab: gcov profiling for " + ", ".join(INSTRUMENTED))


def collect_notes(src: Path, objtree: Path, artifact: Path) -> None:
    """Copy the instrumented directories' .gcno files, and the sources gcov's line numbers
    refer to, into the artifact."""
    for directory in INSTRUMENTED:
        dest = artifact / NOTES_DIR / directory
        dest.mkdir(parents=True, exist_ok=True)
        for note in (objtree / directory).glob("*.gcno"):
            shutil.copy2(note, dest / note.name)
            source = src / directory / note.with_suffix(".c").name
            if source.exists():
                shutil.copy2(source, dest / source.name)


def guest_data_path(objtree: str, directory: str, name: str) -> str:
    """Where the guest kernel shows the counters of objtree/directory/name.o."""
    return f"/sys/kernel/debug/gcov{objtree}/{directory}/{name}.gcda"
