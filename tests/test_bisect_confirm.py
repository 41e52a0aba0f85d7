"""Confirming a culprit: it fails again, its parent passes again, and their kernels differ."""

import pytest

from lab.bisect.command import BisectOptions, git_state, plan_for
from lab.bisect.confirm import confirm, identical_kernels, judge
from lab.bisect.driver import run_bisect, signature_of
from lab.bisect.policy import RunResult
from lab.bisect.state import Journal, Step

OPTIONS = BisectOptions(test="smoke/smoke/remap_file_pages", repeat=1)


def step(role, verdict, digest, reason="r"):
    return Step(1, role, role, f"{role} label", verdict, reason, kernel_digest=digest)


@pytest.mark.parametrize(
    "culprit, parent, kind",
    [
        (step("culprit", "bad", "a"), step("parent", "good", "b"), "confirmed"),
        (step("culprit", "good", "a"), step("parent", "good", "b"), "unconfirmed"),
        (step("culprit", "bad", "a"), step("parent", "bad", "b"), "unconfirmed"),
        (step("culprit", "bad", "a"), step("parent", "skip", ""), "unconfirmed"),
        (step("culprit", "skip", ""), step("parent", "skip", ""), "unconfirmed"),
        # identical kernels: whatever the runs said, the commit cannot be the cause
        (step("culprit", "bad", "a"), step("parent", "good", "a"), "identical"),
    ],
)
def test_judge(culprit, parent, kind):
    assert judge(culprit, parent).kind == kind


def test_judge_says_what_went_wrong():
    message = judge(
        step("culprit", "good", "a", "1 of 1 runs passed"),
        step("parent", "bad", "b", "1 of 1 runs failed"),
    ).message
    assert message == (
        "the bisect ended at culprit label, but it did not fail again (good: "
        "1 of 1 runs passed) and its parent parent label did not pass (bad: 1 "
        "of 1 runs failed)"
    )
    assert not identical_kernels(step("culprit", "skip", ""), step("parent", "skip", ""))


def test_a_commit_that_changes_nothing_built_is_not_blamed(value_repo, bisect_cache, sim):
    repo, commits = value_repo
    # commit 13 changes nothing that is built: its kernel is the same as 12's, yet the
    # (flaky) test happens to fail from 13 on
    bench = sim.Bench(
        sim.git_value(repo),
        sim.fails_from(13),
        digest_of=lambda value: "k12" if value == 13 else f"k{value}",
    )
    state = git_state(repo, commits[0], commits[-1], OPTIONS)
    result = run_bisect(state, plan_for(state), bench)
    assert (result.kind, result.culprit) == ("identical", commits[13])
    assert "changes nothing that is built for this configuration" in result.message
    culprit, parent = state.steps[-2:]
    assert (culprit.role, parent.role) == ("culprit", "parent")
    assert culprit.runs == [] and parent.runs == []
    assert culprit.kernel_digest == parent.kernel_digest == "k12"
    assert "identical" in culprit.reason


def test_confirmation_runs_each_side_repeat_times(value_repo, bisect_cache, sim):
    repo, commits = value_repo
    state = git_state(
        repo, commits[0], commits[-1], BisectOptions(test="smoke/smoke/remap_file_pages", repeat=3)
    )
    bench = sim.Bench(sim.git_value(repo), sim.fails_from(6))
    result = run_bisect(state, plan_for(state), bench)
    assert result.kind == "confirmed"
    culprit, parent = state.steps[-2:]
    assert [r.state for r in culprit.runs] == ["fail"] * 3
    assert [r.state for r in parent.runs] == ["pass"] * 3
    assert len(state.steps[0].runs) == 1  # a bisect step stops at its first failure


def test_a_recorded_confirmation_step_is_not_run_again(value_repo, bisect_cache, sim):
    repo, commits = value_repo
    state = git_state(repo, commits[0], commits[-1], OPTIONS)
    plan = plan_for(state)
    bench = sim.Bench(sim.git_value(repo), sim.fails_from(6))
    journal = Journal(state)
    journal.record(
        Step(
            1,
            "culprit",
            commits[6],
            "c",
            "bad",
            "1 of 1 runs failed",
            kernel_digest="6",
            runs=[RunResult("fail")],
        )
    )
    result = confirm(bench, plan, commits[6], signature_of(state), 1, journal)
    assert result.kind == "confirmed"
    assert bench.builds == [5]
    assert [s.role for s in state.steps] == ["culprit", "parent"]
