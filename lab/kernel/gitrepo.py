"""Thin helpers over git for the lab's own scratch repositories."""

import os
import subprocess
from pathlib import Path

from lab import proc

# Fixed identity and dates make the lab's commits reproducible, so equal input gives equal ids.
GIT_ENV = {
    "GIT_AUTHOR_NAME": "faultlab",
    "GIT_AUTHOR_EMAIL": "faultlab@localhost",
    "GIT_COMMITTER_NAME": "faultlab",
    "GIT_COMMITTER_EMAIL": "faultlab@localhost",
    "GIT_AUTHOR_DATE": "2000-01-01T00:00:00Z",
    "GIT_COMMITTER_DATE": "2000-01-01T00:00:00Z",
}


def run_git(repo: Path, *args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
    """Run git in `repo` with the lab's fixed identity; the caller looks at the result."""
    return proc.run(["git", "-C", str(repo), *args], env={**os.environ, **GIT_ENV}, check=check)


def git(repo: Path, *args: str, check: bool = True) -> str:
    """Run git in `repo` and return its stripped output."""
    return run_git(repo, *args, check=check).stdout.strip()


def commit_all(repo: Path, message: str, *, force: bool = False) -> str:
    """Commit every change in the work tree, if any, and return the HEAD commit id.

    `force` also adds files the tree's .gitignore names (Debian's kernel tarball ignores
    everything).
    """
    git(repo, "add", "-A", *(["-f"] if force else []))
    has_head = bool(git(repo, "rev-parse", "--verify", "-q", "HEAD", check=False))
    unchanged = has_head and not git(repo, "status", "--porcelain", "--untracked-files=no")
    if not unchanged:
        git(repo, "commit", "-q", "--allow-empty", "--no-verify", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def init_repo(path: Path) -> None:
    """Create a repository with settings suited to a kernel tree."""
    git(path, "init", "-q")
    git(path, "config", "core.autocrlf", "false")
    git(path, "config", "gc.auto", "0")
