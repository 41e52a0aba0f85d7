"""The bisect loop: check the bad end, bisect, confirm; every step saved as it ends.

Resuming replays the recorded verdicts into a fresh search (git bisect is restarted in its
scratch clone and given them again), so a bisect interrupted anywhere, even between saving
a step and telling git, goes on from its last saved step without repeating one.
"""

from lab.bisect.confirm import confirm
from lab.bisect.policy import RunResult, Signature
from lab.bisect.search import Candidate, Conclusion, Plan
from lab.bisect.state import BisectState, Journal, Result, save_state
from lab.bisect.steps import Bench, try_candidate
from lab.progress import note


def signature_of(state: BisectState) -> Signature:
    return Signature(state.test, tuple(state.titles))


def run_bisect(state: BisectState, plan: Plan, bench: Bench) -> Result:
    """Run (or resume) the bisect to its end; the result is saved in the state."""
    journal = Journal(state)
    if state.result is None:
        state.result = find_culprit(state, plan, bench, journal)
        save_state(state)
    return state.result


def check_bad_end(state: BisectState, plan: Plan, bench: Bench, journal: Journal) -> Result | None:
    """Test the bad end first: a bisect of a failure that does not reproduce is pointless.
    Returns the result when there is nothing to bisect."""
    step = state.step("bad end")
    if step is None:
        note(f"step {journal.next_number()}: the bad end, {plan.label(plan.bad)}")
        step = try_candidate(
            bench,
            plan,
            plan.bad,
            "bad end",
            journal.next_number(),
            signature_of(state),
            state.repeat,
            journal.step_dir("bad end", plan.bad),
        )
        learn_titles(state, step.runs)
        journal.record(step)
        note(f"step {step.number}: {step.verdict}: {step.reason}")
    if step.verdict == "good":
        return Result("not-reproduced", f"the bad end {step.label} does not fail: {step.reason}")
    if step.verdict == "skip":
        return Result("untestable", f"the bad end {step.label} cannot be tested: {step.reason}")
    return None


def learn_titles(state: BisectState, runs: list[RunResult]) -> None:
    """A kernel-log test with no known reports takes those of the bad end's first failing
    run: any other report later in the range is another bug, not this one."""
    signature = signature_of(state)
    if signature.titles or not signature.kernel_case:
        return
    failing = next((run for run in runs if run.state == "fail" and run.problems), None)
    if failing is not None:
        state.titles = list(failing.problems)
        note(f"signature: {signature_of(state).describe()}")


def find_culprit(state: BisectState, plan: Plan, bench: Bench, journal: Journal) -> Result:
    """Bad end, bisect, confirmation."""
    search = plan.search()  # first, so that a bad range is refused before any build
    stop = check_bad_end(state, plan, bench, journal)
    if stop is not None:
        return stop
    signature = signature_of(state)
    for step in state.steps:
        if step.role == "bisect":
            search.mark(step.candidate, step.verdict)
    total = plan.count()
    while isinstance(candidate := search.next(), Candidate):
        number = journal.next_number()
        note(
            f"step {number}: candidate {plan.label(candidate.key)}, "
            f"~{candidate.steps_left} step{'' if candidate.steps_left == 1 else 's'} left "
            f"({total} candidates)"
            f"{time_left(state, candidate.steps_left)}"
        )
        step = try_candidate(
            bench,
            plan,
            candidate.key,
            "bisect",
            number,
            signature,
            state.repeat,
            journal.step_dir("bisect", candidate.key),
        )
        journal.record(step)
        note(f"step {number}: {step.verdict}: {step.reason}")
        search.mark(step.candidate, step.verdict)
    return conclude(state, plan, bench, journal, candidate)


def time_left(state: BisectState, steps_left: int) -> str:
    """', ~N min to go': the steps left and the two confirmation steps at the mean duration
    of the steps so far ('' before the first)."""
    durations = [s.duration_s for s in state.steps]
    if not durations:
        return ""
    seconds = (steps_left + 2) * sum(durations) / len(durations)
    return f", ~{max(1, round(seconds / 60))} min to go"


def conclude(
    state: BisectState, plan: Plan, bench: Bench, journal: Journal, conclusion: Conclusion
) -> Result:
    """Confirm a single culprit; list the candidates when skips leave several."""
    if conclusion.first_bad is None:
        labels = "; ".join(plan.label(key) for key in conclusion.could_be)
        return Result(
            "ambiguous",
            f"candidates that could not be tested hide the first bad "
            f"one, which is one of: {labels}",
            could_be=list(conclusion.could_be),
        )
    note(f"first bad: {plan.label(conclusion.first_bad)}; confirming")
    return confirm(bench, plan, conclusion.first_bad, signature_of(state), state.repeat, journal)
