"""The bisect demonstration on Linux 6.1's real source: its git history, and full bisects of
it (as commits and as a series) whose build and test read the candidate's real files: a
kernel whose mm/mremap.c misses its semicolon does not build, one whose remap_file_pages()
maps pgoff ^ 1 fails the test. (tests/test_bisect_run.py builds and boots them.)"""

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from lab import proc
from lab.bisect.command import BisectOptions, git_state, plan_for, series_state
from lab.bisect.demo import (
    DEMO_CULPRIT,
    DEMO_INTERMITTENT_SERIES,
    DEMO_SERIES,
    DEMO_TEST,
    DEMO_UNBUILDABLE,
    FILLER_FILES,
    DemoHistory,
    make_demo_history,
)
from lab.bisect.driver import run_bisect
from lab.bisect.policy import RunResult
from lab.bisect.series import mail_subject
from lab.bisect.steps import Built
from lab.errors import BuildError
from lab.kernel.build import BuildRequest
from lab.kernel.gitrepo import GIT_ENV, git
from lab.kernel.series import load_series

OPTIONS = BisectOptions(test=DEMO_TEST, repeat=1)


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> DemoHistory:
    return make_demo_history(tmp_path_factory.mktemp("demo") / "linux.git")


def test_the_history_has_one_commit_per_patch(demo):
    patches = load_series(DEMO_SERIES).patches
    assert len(demo.commits) == len(patches) == 16
    log = git(
        demo.repo, "log", "--reverse", "--format=%H|%P|%an <%ae>|%s", f"{demo.base}..{demo.tip}"
    ).splitlines()
    parents = [demo.base, *demo.commits[:-1]]
    for line, commit, parent, patch in zip(log, demo.commits, parents, patches, strict=True):
        sha, parent_sha, author, subject = line.split("|")
        assert (sha, parent_sha, author) == (commit, parent, "A Developer <dev@example.org>")
        assert subject == mail_subject(patch.path.read_text())
    assert git(demo.repo, "rev-parse", "bisect-demo") == demo.tip
    changed = git(demo.repo, "diff", "--name-only", demo.base, demo.tip).split()
    assert changed and all(name.startswith("mm/") for name in changed)


def test_the_history_is_the_same_every_time(demo, tmp_path):
    again = make_demo_history(tmp_path / "again.git")
    assert (again.base, again.commits) == (demo.base, demo.commits)


def test_filler_commits_follow_each_patch_and_change_only_their_files(demo, tmp_path):
    padded = make_demo_history(tmp_path / "padded.git", fillers=3)
    assert len(padded.commits) == 64 and padded.base == demo.base
    assert padded.commits[::4] == padded.patch_commits
    # the patches' commits make the same changes as in the plain history
    for plain, commit in zip(demo.patch_commits, padded.patch_commits, strict=True):
        assert git(demo.repo, "diff-tree", "-p", "--format=%s", plain) == git(
            padded.repo, "diff-tree", "-p", "--format=%s", commit
        )
    changed = {
        git(padded.repo, "diff-tree", "--no-commit-id", "--name-only", "-r", c)
        for i, c in enumerate(padded.commits)
        if i % 4
    }
    assert changed == set(FILLER_FILES)
    assert git(padded.repo, "rev-parse", "bisect-demo-64") == padded.tip


def test_the_intermittent_series_differs_only_in_its_planted_patch():
    plain, intermittent = (load_series(s).patches for s in (DEMO_SERIES, DEMO_INTERMITTENT_SERIES))
    differ = [
        n
        for n, (a, b) in enumerate(zip(plain, intermittent, strict=True), 1)
        if a.path.resolve() != b.path.resolve()
    ]
    assert differ == [DEMO_CULPRIT]


def test_the_planted_changes_are_where_the_demo_says(demo):
    def show(n: int, path: str) -> str:
        return git(demo.repo, "show", f"{demo.commits[n - 1]}:{path}")

    assert "\taddr = untagged_addr(addr);\n" in show(DEMO_UNBUILDABLE - 1, "mm/mremap.c")
    assert "\taddr = untagged_addr(addr)\n" in show(DEMO_UNBUILDABLE, "mm/mremap.c")
    assert "\taddr = untagged_addr(addr);\n" in show(DEMO_UNBUILDABLE + 1, "mm/mremap.c")
    assert "pgoff ^ 1" not in show(DEMO_CULPRIT - 1, "mm/mmap.c")
    assert "prot, flags, pgoff ^ 1, &populate, NULL);" in show(DEMO_CULPRIT, "mm/mmap.c")


def tree_of_series(repo: Path, base: str, series: Path | None) -> str:
    """The tree of `base` with a series applied (git apply --cached, no work tree)."""
    if series is None:
        return git(repo, "rev-parse", f"{base}^{{tree}}")
    with tempfile.TemporaryDirectory() as scratch:
        env = {**os.environ, **GIT_ENV, "GIT_INDEX_FILE": str(Path(scratch, "index"))}

        def run(*args: str) -> str:
            return proc.output(["git", "-C", str(repo), *args], env=env)

        run("read-tree", base)
        for patch in load_series(series).patches:
            run("apply", "--cached", f"-p{patch.strip}", str(patch.path))
        return run("write-tree")


@dataclass
class SourceBench:
    """Builds fail when the candidate's mm/mremap.c misses its semicolon; the test fails
    when its remap_file_pages() maps pgoff ^ 1. A kernel is the tree of mm/."""

    demo: DemoHistory
    builds: list[str] = field(default_factory=list)
    fanout: int = 1

    def tree(self, request: BuildRequest) -> str:
        if request.source.startswith("git:"):
            return git(self.demo.repo, "rev-parse", f"{request.source.rpartition('@')[2]}^{{tree}}")
        return tree_of_series(self.demo.repo, self.demo.base, request.series)

    def build(self, request: BuildRequest) -> Built:
        tree = self.tree(request)
        self.builds.append(tree)
        if "\taddr = untagged_addr(addr)\n" in git(self.demo.repo, "show", f"{tree}:mm/mremap.c"):
            raise BuildError("x86_64 kernel build failed\nmm/mremap.c:966:9: error: expected ';'")
        return Built(tree[:16], "", git(self.demo.repo, "rev-parse", f"{tree}:mm"), 0.0)

    def run(self, built: Built, index: int, run_dir: Path) -> RunResult:
        tree = next(t for t in self.builds if t.startswith(built.build_id))
        if "pgoff ^ 1" in git(self.demo.repo, "show", f"{tree}:mm/mmap.c"):
            return RunResult("fail", message="does not show file page 1")
        return RunResult("pass")


def test_a_git_bisect_of_the_demo_history(demo, bisect_cache):
    state = git_state(demo.repo, demo.base, demo.tip, OPTIONS)
    result = run_bisect(state, plan_for(state), SourceBench(demo))
    assert (result.kind, result.culprit) == ("confirmed", demo.commits[DEMO_CULPRIT - 1])
    skipped = [s.candidate for s in state.steps if s.verdict == "skip"]
    assert skipped == [demo.commits[DEMO_UNBUILDABLE - 1]]
    assert len([s for s in state.steps if s.role == "bisect"]) <= 6  # 4 without the skip


def test_a_git_bisect_over_64_candidates(demo, tmp_path, bisect_cache):
    padded = make_demo_history(tmp_path / "padded.git", fillers=3)
    state = git_state(padded.repo, padded.base, padded.tip, OPTIONS)
    result = run_bisect(state, plan_for(state), SourceBench(padded))
    assert (result.kind, result.culprit) == ("confirmed", padded.patch_commit(DEMO_CULPRIT))
    assert len([s for s in state.steps if s.role == "bisect"]) <= 8  # 6 without skips


def test_a_series_bisect_of_the_demo_series(demo, bisect_cache):
    state = series_state("debian-6.1", DEMO_SERIES, OPTIONS)
    result = run_bisect(state, plan_for(state), SourceBench(demo))
    assert (result.kind, result.culprit) == ("confirmed", str(DEMO_CULPRIT))
    assert [s.candidate for s in state.steps if s.verdict == "skip"] == [str(DEMO_UNBUILDABLE)]
    assert [s.candidate for s in state.steps if s.role == "bisect"] == ["8", "9", "13", "11", "10"]
