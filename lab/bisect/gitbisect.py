"""Bisecting commits with git bisect, in a scratch clone the lab owns.

The user's tree is only read: it is cloned (bare, sharing its objects) into the bisect's
directory and `git bisect` runs there with --no-checkout, so neither its HEAD, branches,
work tree nor bisect state change. Candidates are built from the user's tree as
`git:TREE@SHA`, all in the build tree of `git:TREE`, so each step rebuilds incrementally.
"""

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from lab import proc
from lab.bisect.policy import Verdict
from lab.bisect.search import Candidate, Change, Conclusion
from lab.errors import UsageError
from lab.kernel.build import BuildRequest
from lab.kernel.gitrepo import git, run_git

_BISECTING = re.compile(
    r"^Bisecting: (?:(\d+) revisions? left to test after this "
    r"\(roughly (\d+) steps?\))?",
    re.MULTILINE,
)
_FIRST_BAD = re.compile(r"^([0-9a-f]{40}) is the first bad commit", re.MULTILINE)
_ONLY_SKIPPED = re.compile(r"The first bad commit could be any of:\n((?:[0-9a-f]{40}\n)+)")


def resolve_commit(tree: Path, rev: str) -> str:
    """The full id of a revision of the tree, or a UsageError."""
    if not (tree / ".git").exists() and not (tree / "HEAD").exists():
        raise UsageError(f"{tree} is not a git repository")
    sha = git(tree, "rev-parse", "--verify", "-q", f"{rev}^{{commit}}", check=False)
    if not re.fullmatch(r"[0-9a-f]{40}", sha):
        raise UsageError(f"revision {rev!r} not found in {tree}")
    return sha


def parse_bisect_output(text: str, scratch: Path) -> Candidate | Conclusion:
    """What `git bisect start|good|bad|skip` said: the next candidate or the end."""
    if match := _FIRST_BAD.search(text):
        return Conclusion(match[1])
    if match := _ONLY_SKIPPED.search(text):
        return Conclusion(None, tuple(match[1].split()))
    if match := _BISECTING.search(text):
        steps = int(match[2]) if match[2] else 1
        return Candidate(git(scratch, "rev-parse", "BISECT_HEAD"), steps_left=steps)
    raise UsageError(f"git bisect in {scratch}:\n{text.strip()}")


@dataclass
class GitSearch:
    """`git bisect` over good..bad in a scratch clone."""

    scratch: Path  # the clone git bisect runs in (made with the plan)
    good: str
    bad: str
    current: Candidate | Conclusion = field(init=False)

    def __post_init__(self) -> None:
        """Start the bisect; an earlier one in the scratch clone is dropped."""
        run_git(self.scratch, "bisect", "reset")
        self.current = parse_bisect_output(
            self._bisect("start", "--no-checkout", self.bad, self.good), self.scratch
        )

    def mark(self, key: str, verdict: Verdict) -> None:
        self.current = parse_bisect_output(self._bisect(verdict, key), self.scratch)

    def next(self) -> Candidate | Conclusion:
        return self.current

    def _bisect(self, *args: str) -> str:
        result = run_git(self.scratch, "bisect", *args)
        if result.returncode not in (0, 2):  # 2: only skipped commits are left
            raise UsageError(
                f"git bisect {' '.join(args)} in {self.scratch}:\n{result.stdout.strip()}"
            )
        return result.stdout


def scratch_clone(tree: Path, scratch: Path) -> Path:
    """A bare clone of the tree sharing its objects (made once)."""
    if not (scratch / "HEAD").exists():
        tmp = scratch.with_name(scratch.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        proc.run(["git", "clone", "-q", "--bare", "--shared", str(tree), str(tmp)])
        tmp.rename(scratch)
    return scratch


@dataclass(frozen=True)
class GitPlan:
    """The commits of good..bad in the user's tree, as build requests."""

    base: BuildRequest  # arch and config; its source is replaced
    tree: Path  # absolute
    good: str  # full commit ids
    bad: str
    scratch: Path  # the clone git bisect runs in (made with the plan)

    def __post_init__(self) -> None:
        scratch_clone(self.tree, self.scratch)

    @property
    def tree_spec(self) -> str:
        return f"git:{self.tree}"

    def search(self) -> GitSearch:
        return GitSearch(self.scratch, self.good, self.bad)

    def count(self) -> int:
        return int(git(self.scratch, "rev-list", "--count", f"{self.good}..{self.bad}"))

    def request(self, key: str) -> BuildRequest:
        return BuildRequest(
            arch=self.base.arch,
            source=f"{self.tree_spec}@{key}",
            flavour=self.base.flavour,
            fragments=self.base.fragments,
            jobs=self.base.jobs,
            tree_of=self.tree_spec,
        )

    def label(self, key: str) -> str:
        return git(self.scratch, "log", "-1", "--format=%h %s", key)

    def parent(self, key: str) -> str:
        return git(self.scratch, "rev-parse", f"{key}^")

    def change(self, key: str) -> Change:
        fields = git(self.scratch, "show", "-s", "--format=%s%n%an <%ae>%n%aD", key)
        title, author, date = fields.split("\n")
        files = git(self.scratch, "show", "--format=", "--name-only", key).split()
        stat = git(self.scratch, "show", "--format=", "--stat", key)
        return Change(key, title, author, date, tuple(files), stat)

    def source_args(self, key: str) -> list[str]:
        return ["--source", f"{self.tree_spec}@{key}"]
