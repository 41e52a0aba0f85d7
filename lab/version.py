"""Which faultlab this is: its version and the commit of its checkout, recorded with every
build, run and report so that a change of the lab is never mistaken for one of a kernel."""

import importlib.metadata
from functools import cache

from lab import paths, proc


def lab_version() -> str:
    try:
        return importlib.metadata.version("faultlab")
    except importlib.metadata.PackageNotFoundError:
        return "0+unknown"


@cache
def lab_commit() -> str:
    """The checkout's commit, '-dirty' with changes to tracked files; '' outside git."""
    git = ["git", "-C", str(paths.PROJECT_ROOT)]
    try:
        head = proc.run([*git, "rev-parse", "--short=12", "HEAD"], check=False)
        if head.returncode != 0:
            return ""
        dirty = proc.run([*git, "status", "--porcelain", "--untracked-files=no"], check=False)
    except OSError:  # no git on this host
        return ""
    return head.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def lab_identity() -> str:
    """'faultlab 0.1.0 (3f2a9c1b0d4e)'."""
    commit = lab_commit()
    return f"faultlab {lab_version()}" + (f" ({commit})" if commit else "")
