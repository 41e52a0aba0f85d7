"""What the driver asks of a search over candidates (commits, or patch counts of a series)."""

from dataclasses import dataclass
from typing import Protocol

from lab.bisect.policy import Verdict
from lab.kernel.build import BuildRequest


@dataclass(frozen=True)
class Candidate:
    """The next candidate to test, and about how many steps follow it."""

    key: str  # a commit id, or the number of patches applied
    steps_left: int


@dataclass(frozen=True)
class Conclusion:
    """Where a search ended: the first bad candidate, or, when candidates that could not be
    tested hide it, every candidate that may be the first bad one (in order)."""

    first_bad: str | None
    could_be: tuple[str, ...] = ()


class Search(Protocol):
    """A bisection: git bisect over commits, or a binary search over a series."""

    def next(self) -> Candidate | Conclusion:
        """The candidate to test next, or the end."""
        ...

    def mark(self, key: str, verdict: Verdict) -> None:
        """Record a candidate's verdict."""
        ...


@dataclass(frozen=True)
class Change:
    """What a candidate changed over its parent: a commit, or a patch of a series."""

    ident: str  # the commit id, or the patch's file
    title: str
    author: str
    date: str
    files: tuple[str, ...]
    stat: str  # the diffstat


class Plan(Protocol):
    """The candidates of one bisect: how to search them, build them and name them."""

    @property
    def good(self) -> str: ...

    @property
    def bad(self) -> str: ...

    def search(self) -> Search:
        """A fresh search over the range (the driver replays recorded verdicts)."""
        ...

    def count(self) -> int:
        """How many candidates the range holds (the bad end included)."""
        ...

    def request(self, key: str) -> BuildRequest: ...

    def label(self, key: str) -> str:
        """A short name for reports: a commit's short id and subject, a patch's name."""
        ...

    def parent(self, key: str) -> str:
        """The candidate just before `key` (its parent commit, one patch fewer)."""
        ...

    def change(self, key: str) -> Change: ...

    def source_args(self, key: str) -> list[str]:
        """`lab run` options that build this candidate from its source."""
        ...
