"""Patch series on real files: Linux 6.1's mm/msync.c and patches made by git format-patch."""

import shutil
import subprocess
from pathlib import Path

import pytest

from lab import paths
from lab.errors import PatchError, UsageError
from lab.kernel.gitrepo import commit_all, git, init_repo
from lab.kernel.series import apply_series, hunk_failures, load_series, parse_series_file

DATA = Path(__file__).parent / "data" / "series"
EXAMPLES = paths.PROJECT_ROOT / "patches" / "examples"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A scratch git tree holding the real mm/msync.c."""
    shutil.copytree(DATA / "tree", tmp_path / "tree")
    init_repo(tmp_path / "tree")
    commit_all(tmp_path / "tree", "base")
    return tmp_path / "tree"


def test_series_file_skips_comments_and_reads_strip_levels(tmp_path: Path):
    for name in ("a.patch", "b.patch"):
        (tmp_path / name).write_text("")
    (tmp_path / "series").write_text("# comment\n\na.patch\nb.patch -p0  # trailing\n")
    patches = parse_series_file(tmp_path / "series")
    assert [(p.name, p.strip) for p in patches] == [("a.patch", 1), ("b.patch", 0)]


def test_series_file_names_a_missing_patch(tmp_path: Path):
    (tmp_path / "series").write_text("missing.patch\n")
    with pytest.raises(UsageError, match=r"series:1: patch missing.patch not found"):
        parse_series_file(tmp_path / "series")


def test_quilt_series_applies_one_commit_per_patch(tree: Path):
    base = git(tree, "rev-parse", "HEAD")
    apply_series(tree, load_series(EXAMPLES / "msync-comments"))
    subjects = git(tree, "log", "--format=%s", f"{base}..HEAD").splitlines()
    assert subjects == [
        "mm/msync: comment the flags check",
        "mm/msync: add a comment at the syscall entry",
    ]
    text = (tree / "mm" / "msync.c").read_text()
    assert "faultlab example: first patch" in text and "faultlab example: second patch" in text


def test_mbox_applies_with_authorship(tree: Path):
    base = git(tree, "rev-parse", "HEAD")
    series = load_series(EXAMPLES / "msync-comments.mbox")
    assert series.mbox is not None
    apply_series(tree, series)
    authors = git(tree, "log", "--format=%an <%ae>", f"{base}..HEAD").splitlines()
    assert authors == ["A Developer <dev@example.org>"] * 2


def test_quilt_patch_that_does_not_apply_names_patch_file_and_hunk(tree: Path):
    with pytest.raises(PatchError) as err:
        apply_series(tree, load_series(DATA / "bad"))
    message = str(err.value)
    assert "patch 0002-mm-msync-comment-the-flags-check.patch does not apply" in message
    assert "mm/msync.c: hunk #1 FAILED at line 40" in message
    # The first patch was committed; the failed one left nothing behind.
    assert git(tree, "status", "--porcelain") == ""


def test_mbox_patch_that_does_not_apply_names_the_failing_mail(tree: Path):
    base = git(tree, "rev-parse", "HEAD")
    with pytest.raises(PatchError) as err:
        apply_series(tree, load_series(DATA / "bad.mbox"))
    message = str(err.value)
    assert "bad.mbox patch 0002 (mm/msync: comment the flags check)" in message
    assert "mm/msync.c: hunk #1 FAILED" in message
    assert git(tree, "rev-parse", "HEAD") == base  # git am was aborted
    assert not (tree / ".git" / "rebase-apply").exists()


def test_hunk_failures_from_real_patch_output(tree: Path):
    patch = next((DATA / "bad").glob("0002-*.patch"))
    out = subprocess.run(
        ["patch", "-p1", "--dry-run", "-f", "-i", str(patch)],
        cwd=tree,
        capture_output=True,
        text=True,
    ).stdout
    assert hunk_failures(out) == ["mm/msync.c: hunk #1 FAILED at line 40"]


def test_series_digest_changes_with_patch_content():
    good = EXAMPLES / "msync-comments"
    assert load_series(good).digest != load_series(DATA / "bad").digest
    assert load_series(good).digest == load_series(good).digest


def test_neither_folder_nor_mbox_is_refused(tmp_path: Path):
    (tmp_path / "notes.txt").write_text("hello\n")
    with pytest.raises(UsageError, match="neither a series folder nor an mbox"):
        load_series(tmp_path / "notes.txt")
