"""The verdict on one bisect candidate, from the runs of its kernel: good, bad or skip.

A run is one boot of the candidate's kernel running the test's program. Each run is one of:

  match  it failed like the original failure: the test's case failed, or a kernel problem
         with one of the signature's titles showed up. For a kernel-log case
         ('<program>/kernel', 'boot/boot') with known titles only those titles match: any
         other report also fails that case, but it is not the bug being bisected.
  pass   evidence of a good kernel: the case passed (for a kernel-log case: the program ran
         to its end without a report of the signature) and nothing of the signature showed
         up. Other cases failing, or other kernel reports, do not change that: they are
         another bug, and marking the candidate skip for them would stop the bisect from
         narrowing wherever that other bug is present.
  none   no evidence either way: the lab could not run it (infra: boot timeout, QEMU,
         pressure not reached), the case was skipped, or the program died before the case
         ran (a crash without a report of the signature).

The candidate is

  bad    when any run matches. A regression can be intermittent, so one matching failure
         is enough; this is also why a flaky case gets several runs: they protect against
         a bad kernel that passes by chance. A spurious matching failure on a good kernel
         would blame a later commit; the confirmation at the end (the culprit fails again,
         its parent passes again) catches that instead of naming an innocent commit.
  good   when `repeat` runs passed and none matched;
  skip   otherwise (git bisect's exit code 125): the kernel did not build, or too few runs
         gave evidence. A build or boot failure is never bad.

The runner stops at the first matching run, or when `repeat` runs passed, and gives up after
`repeat + EXTRA_RUNS` runs (extra runs make up for runs without evidence).
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from lab.history.classify import Outcome, classify

Verdict = Literal["good", "bad", "skip"]
RunState = Literal["pass", "fail", "skip", "infra", "missing"]
Evidence = Literal["match", "pass", "none"]
EXTRA_RUNS = 2
FLAKY_MIN_REPEAT = 3
MAX_REPEAT = 5
# A flaky case gets enough runs that a kernel failing as often as the case failed in the
# history passes all of them at most this often.
MISS_CHANCE = 0.1


@dataclass(frozen=True)
class Signature:
    """The original failure: the test ('suite/program/case' or 'boot/boot') and, optionally,
    the titles of its kernel reports ('WARNING in foo', as lab.results.oracle names them)."""

    test: str
    titles: tuple[str, ...] = ()

    @property
    def suite(self) -> str:
        return self.test.partition("/")[0]

    @property
    def case(self) -> str:
        """The case as results.json names it: 'program/case' ('boot' for the boot)."""
        return self.test.partition("/")[2]

    @property
    def kernel_case(self) -> bool:
        """True for a case that is the kernel log itself ('<program>/kernel', 'boot/boot')."""
        return self.case.endswith("/kernel") or self.test == "boot/boot"

    def describe(self) -> str:
        if not self.titles:
            return f"{self.test} fails"
        return f"{self.test} fails, or the kernel reports {' | '.join(self.titles)}"


@dataclass(frozen=True)
class RunResult:
    """One run of a candidate's kernel, as far as the bisect cares."""

    state: RunState  # of the test's record; 'missing' when the run produced none
    problems: tuple[str, ...] = ()  # titles of the kernel reports of the run
    infra: str = ""  # why the lab could not run it properly ('' when it could)
    completed: bool = True  # the program ran to its end (no crash or hang)
    duration_s: float = 0.0
    message: str = ""  # why the test failed (its record's message)
    details: str = ""  # its diagnostics or kernel reports
    output: str = ""  # the program's output file
    kernel_log: str = ""
    run_dir: str = ""


@dataclass(frozen=True)
class BuildFailure:
    """Why a candidate's kernel did not build."""

    error: str  # the error's kind and first line: 'BuildError: x86_64 kernel build failed'
    details: str = ""  # the compiler errors, the hunk that does not apply
    log: str = ""  # the build log, if there is one


@dataclass(frozen=True)
class StepVerdict:
    """A candidate's verdict and why."""

    verdict: Verdict
    reason: str


def evidence(run: RunResult, signature: Signature) -> Evidence:
    """What one run says about its kernel (see the module's docstring)."""
    hit = bool(set(signature.titles) & set(run.problems))
    if hit:
        return "match"
    if run.state == "fail" and not (signature.kernel_case and signature.titles):
        return "match"
    if run.infra:
        return "none"
    if run.state == "pass":
        return "pass"
    if run.state == "fail" and run.completed:  # a kernel-log case with another report
        return "pass"
    return "none"


def step_verdict(
    runs: Sequence[RunResult], signature: Signature, repeat: int, build: BuildFailure | None = None
) -> StepVerdict:
    """The candidate's verdict from its runs (none when it did not build)."""
    if build is not None:
        return StepVerdict("skip", f"does not build: {first_error(build)}")
    kinds = [evidence(run, signature) for run in runs]
    matching = kinds.count("match")
    passed = kinds.count("pass")
    if matching:
        first = runs[kinds.index("match")]
        why = first.message or ", ".join(t for t in first.problems if t in signature.titles)
        return StepVerdict(
            "bad",
            f"{matching} of {len(runs)} runs failed like the original"
            + (f": {why}" if why else ""),
        )
    if passed >= repeat:
        return StepVerdict("good", f"{passed} of {len(runs)} runs passed")
    if not runs:
        return StepVerdict("skip", "not run")
    reasons = sorted(
        {no_evidence_reason(run) for run in runs if evidence(run, signature) == "none"}
    )
    return StepVerdict(
        "skip", f"only {passed} of {len(runs)} runs passed, {repeat} needed: " + "; ".join(reasons)
    )


def first_error(build: BuildFailure) -> str:
    """A build failure's first line and its first detail (the first compiler error, the
    hunk that failed). With a build log, the compiler error comes first, its path relative
    to the source, and the log after it."""
    details = [line.strip() for line in build.details.splitlines() if line.strip()]
    if build.log and details:
        return (
            f"{details[0].removeprefix('../src/')} "
            f"({build.error.removeprefix('BuildError: ')}; log: {build.log})"
        )
    return ": ".join([build.error, *details[:1]]).replace(":: ", ": ")


def no_evidence_reason(run: RunResult) -> str:
    """Why a run says nothing about its kernel."""
    if run.infra:
        return run.infra.splitlines()[0]
    if run.state == "skip":
        return f"skipped: {run.message}" if run.message else "skipped"
    if not run.completed:
        return "the program did not finish" + (
            f" ({', '.join(run.problems)})" if run.problems else ""
        )
    return f"no result for the test ({run.state})"


def needs_more(
    runs: Sequence[RunResult], signature: Signature, repeat: int, until_repeat: bool = False
) -> bool:
    """Whether another run is needed. Normally not after a matching run or `repeat` passes;
    with `until_repeat` (confirmation) not before `repeat` runs gave evidence, matching or
    not. Never beyond repeat + EXTRA_RUNS runs."""
    if len(runs) >= repeat + EXTRA_RUNS:
        return False
    kinds = [evidence(run, signature) for run in runs]
    if until_repeat:
        return kinds.count("match") + kinds.count("pass") < repeat
    return "match" not in kinds and kinds.count("pass") < repeat


def runs_wanted(
    runs: Sequence[RunResult], signature: Signature, repeat: int, until_repeat: bool = False
) -> int:
    """How many more runs can be started at once without running past the verdict: those
    still needed if every one of them passes (0 when needs_more() says none)."""
    if not needs_more(runs, signature, repeat, until_repeat):
        return 0
    kinds = [evidence(run, signature) for run in runs]
    given = kinds.count("pass") + (kinds.count("match") if until_repeat else 0)
    return max(1, min(repeat - given, repeat + EXTRA_RUNS - len(runs)))


def default_repeat(outcomes: Sequence[Outcome]) -> tuple[int, str]:
    """Runs per candidate, from the case's outcomes in its cell(s), oldest first: 1 for a
    case that was never flaky (lab.history.classify), else enough that a kernel failing as
    often as the case failed in the history passes all runs at most MISS_CHANCE of the
    time, between FLAKY_MIN_REPEAT and MAX_REPEAT."""
    if not outcomes:
        return 1, "no history of the test"
    if not any(classify(outcomes[:n]).kind == "flaky" for n in range(1, len(outcomes) + 1)):
        return 1, f"the test was never flaky in {len(outcomes)} runs of the history"
    # A flaky case has passed and failed, so 0 < rate < 1.
    states = [s for o in outcomes for s in o.states if s in ("pass", "fail")]
    rate = states.count("fail") / len(states)
    runs = math.ceil(math.log(MISS_CHANCE) / math.log(1 - rate))
    repeat = min(MAX_REPEAT, max(FLAKY_MIN_REPEAT, runs))
    return repeat, (
        f"the test was flaky in the history (failed {states.count('fail')} of "
        f"{len(states)} attempts)"
    )
