"""Kernel sources from a local git tree and from a plain directory, on real repositories."""

import shutil
from pathlib import Path

import pytest

from lab.errors import UsageError
from lab.kernel.gitrepo import commit_all, git, init_repo
from lab.kernel.source import resolve_source

TREE = Path(__file__).parent / "data" / "series" / "tree"


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAULTLAB_CACHE", str(tmp_path / "cache"))


@pytest.fixture
def user_repo(tmp_path: Path) -> Path:
    """A user's git checkout with two commits and an uncommitted change."""
    repo = tmp_path / "linux"
    shutil.copytree(TREE, repo)
    init_repo(repo)
    commit_all(repo, "first")
    (repo / "mm" / "msync.c").write_text((repo / "mm" / "msync.c").read_text() + "/* two */\n")
    commit_all(repo, "second")
    (repo / "README").write_text("work in progress\n")
    return repo


def test_git_source_at_a_revision_leaves_the_checkout_alone(user_repo: Path):
    head = git(user_repo, "rev-parse", "HEAD")
    status = git(user_repo, "status", "--porcelain")
    source = resolve_source(f"git:{user_repo}@HEAD~1")
    assert source.commit == git(user_repo, "rev-parse", "HEAD~1")
    assert git(source.repo, "cat-file", "-t", source.commit) == "commit"
    assert git(user_repo, "rev-parse", "HEAD") == head
    assert git(user_repo, "status", "--porcelain") == status
    assert git(user_repo, "worktree", "list").count("\n") == 0  # no worktree was added


def test_git_source_defaults_to_head(user_repo: Path):
    assert resolve_source(f"git:{user_repo}").commit == git(user_repo, "rev-parse", "HEAD")


def test_git_source_names_a_missing_revision(user_repo: Path):
    with pytest.raises(UsageError, match=r"revision 'v9\.9' not found"):
        resolve_source(f"git:{user_repo}@v9.9")


def test_dir_source_identity_follows_content(tmp_path: Path):
    tree = tmp_path / "plain"
    shutil.copytree(TREE, tree)
    first = resolve_source(f"dir:{tree}")
    assert resolve_source(f"dir:{tree}").commit == first.commit  # unchanged: same identity
    (tree / "mm" / "msync.c").write_text("changed\n")
    changed = resolve_source(f"dir:{tree}")
    assert changed.commit != first.commit
    assert git(changed.repo, "show", f"{changed.commit}:mm/msync.c") == "changed"


def test_missing_directory_is_named(tmp_path: Path):
    with pytest.raises(UsageError, match="is not a directory"):
        resolve_source(f"dir:{tmp_path / 'absent'}")
