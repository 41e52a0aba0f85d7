"""What a case's history in one cell says about its newest run.

The input is the case's outcomes in one cell, oldest first: per run, the states of its
attempts and the kernel it ran. Only pass and fail are evidence; skip and infra say nothing
about the kernel and are passed over. A run's state is that of its attempts combined (any
failure makes it a fail, see lab.history.model.combined_state).

The newest outcome is classified by the first rule that holds:

  untested       it is no evidence (skip or infra)
  flaky          among the last `window` (W) evidence outcomes, the newest included, the
                 state changed at least twice, or a run's attempts disagree (one passed, one
                 failed)
  new / new-failure
                 there is no earlier evidence; it passed / failed
  regression     it failed and the up to `depth` (K) evidence outcomes before it all passed
  fix            it passed and the up to `depth` (K) evidence outcomes before it all failed
  still-failing  it failed, and so did the evidence outcome before it
  stable         it passed, and so did the evidence outcome before it
  flaky          otherwise: the state changed twice within depth + 1 outcomes

A regression names its last good run and every run after it up to the newest, with their
kernels: the range to bisect.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Literal

from lab.history.model import CaseRun, KernelIdentity, combined_state
from lab.results.records import State

Kind = Literal[
    "untested", "flaky", "new", "new-failure", "regression", "fix", "still-failing", "stable"
]
RerunKind = Literal["consistent", "flaky"]
EVIDENCE: tuple[State, ...] = ("pass", "fail")
DEPTH = 3  # K: evidence outcomes a regression or a fix is judged against
WINDOW = 6  # W: evidence outcomes searched for flakiness

MEANING: dict[Kind, str] = {
    "untested": "the newest run skipped it or could not run it",
    "flaky": "its state changed at least twice lately, or a run's attempts disagreed",
    "new": "passed, with no earlier pass or fail",
    "new-failure": "failed, with no earlier pass or fail",
    "regression": "failed after passing",
    "fix": "passed after failing",
    "still-failing": "failed, as before",
    "stable": "passed, as before",
}


@dataclass(frozen=True)
class Outcome:
    """A case in one run of one cell: the states of its attempts, in order."""

    run_id: str
    states: tuple[State, ...]
    kernel: KernelIdentity
    tools: str = ""  # the QEMU and compiler of the run

    def __post_init__(self) -> None:
        if not self.states:
            raise ValueError(f"run {self.run_id}: an outcome has at least one attempt")

    @property
    def state(self) -> State:
        return combined_state(self.states)

    @property
    def is_evidence(self) -> bool:
        return self.state in EVIDENCE

    @property
    def attempts_disagree(self) -> bool:
        return {"pass", "fail"} <= set(self.states)


@dataclass(frozen=True)
class Verdict:
    """The class of the newest outcome; for a regression, where to bisect."""

    kind: Kind
    newest: Outcome
    last_good: Outcome | None = None
    since_good: tuple[Outcome, ...] = ()  # the outcomes after last_good, newest last

    @property
    def suspect_kernels(self) -> tuple[KernelIdentity, ...]:
        """The distinct kernels run after the last good one, in order (empty when the kernel
        did not change: then the regression is not the kernel's)."""
        if self.last_good is None:
            return ()
        seen = [self.last_good.kernel]
        for outcome in self.since_good:
            if outcome.kernel not in seen:
                seen.append(outcome.kernel)
        return tuple(seen[1:])

    @property
    def changed_tools(self) -> tuple[str, str] | None:
        """The tools of the last good run and of the newest, when they differ (a new QEMU or
        compiler can make a case fail as surely as a kernel)."""
        if self.last_good is None or not (self.last_good.tools and self.newest.tools):
            return None
        if self.last_good.tools == self.newest.tools:
            return None
        return self.last_good.tools, self.newest.tools


def outcome_of(run: CaseRun) -> Outcome:
    """The classification input for a case run read from the history."""
    return Outcome(
        run.run.run_id, tuple(a.state for a in run.attempts), run.cell.identity, run.cell.tools
    )


def changes(states: Sequence[State]) -> int:
    """How often consecutive states differ."""
    return sum(1 for a, b in pairwise(states) if a != b)


def classify(outcomes: Sequence[Outcome], depth: int = DEPTH, window: int = WINDOW) -> Verdict:
    """Classify the newest of `outcomes` (one case in one cell, oldest first)."""
    if depth < 1 or window < 2:
        raise ValueError(f"depth {depth} must be at least 1 and window {window} at least 2")
    if not outcomes:
        raise ValueError("nothing to classify: no outcomes")
    newest = outcomes[-1]
    if not newest.is_evidence:
        return Verdict("untested", newest)
    positions = [i for i, o in enumerate(outcomes) if o.is_evidence]
    evidence = [outcomes[i] for i in positions]
    recent = evidence[-window:]
    if changes([o.state for o in recent]) >= 2 or any(o.attempts_disagree for o in recent):
        return Verdict("flaky", newest)
    before = [o.state for o in evidence[:-1][-depth:]]
    if not before:
        return Verdict("new" if newest.state == "pass" else "new-failure", newest)
    if newest.state == "fail" and set(before) == {"pass"}:
        good = positions[-2]
        return Verdict("regression", newest, outcomes[good], tuple(outcomes[good + 1 :]))
    if newest.state == "pass" and set(before) == {"fail"}:
        return Verdict("fix", newest)
    if newest.state == before[-1]:
        return Verdict("still-failing" if newest.state == "fail" else "stable", newest)
    return Verdict("flaky", newest)


def classify_rerun(states: Sequence[State]) -> RerunKind:
    """A failure re-run within one run: consistent when every attempt that is evidence
    agrees (skip and infra attempts are passed over), flaky when one passed and one failed."""
    evidence = {s for s in states if s in EVIDENCE}
    if not evidence:
        raise ValueError("a re-run needs at least one attempt that passed or failed")
    return "consistent" if len(evidence) == 1 else "flaky"


def describe(verdict: Verdict) -> str:
    """One line for a report: the class, what it means, and for a regression where to
    bisect."""
    text = f"{verdict.kind}: {MEANING[verdict.kind]} (run {verdict.newest.run_id})"
    if verdict.last_good is None:
        return text
    text += f"; last good run {verdict.last_good.run_id}: {verdict.last_good.kernel.label()}"
    suspects = verdict.suspect_kernels
    if not suspects:
        return text + "; the kernel has not changed since"
    return text + "; kernels since: " + ", ".join(k.label() for k in suspects)
