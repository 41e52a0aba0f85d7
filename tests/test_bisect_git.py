"""Driving real `git bisect` over a real repository, with a simulated build and test."""

from pathlib import Path

import pytest

from lab.arch import get_arch
from lab.bisect.command import BisectOptions, git_state, plan_for
from lab.bisect.driver import run_bisect
from lab.bisect.gitbisect import GitPlan, parse_bisect_output, resolve_commit
from lab.bisect.policy import RunResult
from lab.bisect.search import Candidate, Conclusion
from lab.errors import UsageError
from lab.kernel.build import BuildRequest, build_tree_name
from lab.kernel.gitrepo import git
from lab.kernel.source import Source

OPTIONS = BisectOptions(test="smoke/smoke/remap_file_pages", repeat=1)


def snapshot(repo: Path) -> tuple:
    """Everything of a user's repository a bisect must leave alone."""
    return (
        git(repo, "rev-parse", "HEAD"),
        git(repo, "symbolic-ref", "HEAD"),
        git(repo, "for-each-ref"),
        git(repo, "status", "--porcelain", "--ignored"),
        git(repo, "stash", "list"),
        (repo / "value.txt").read_text(),
        sorted(p.name for p in (repo / ".git").iterdir()),
    )


def test_git_bisect_finds_the_first_bad_commit_skipping_one_that_does_not_build(
    value_repo, bisect_cache, sim
):
    repo, commits = value_repo
    before = snapshot(repo)
    state = git_state(repo, commits[0], commits[-1], OPTIONS)
    bench = sim.Bench(sim.git_value(repo), sim.fails_from(13), unbuildable=frozenset({9}))
    result = run_bisect(state, plan_for(state), bench)

    assert (result.kind, result.culprit) == ("confirmed", commits[13])
    skipped = [s for s in state.steps if s.verdict == "skip"]
    assert [(s.candidate, s.role) for s in skipped] == [(commits[9], "bisect")]
    assert "mm/mremap.c:966:9: error: expected ';'" in skipped[0].reason
    roles = [s.role for s in state.steps]
    assert (roles[0], roles[-2:]) == ("bad end", ["culprit", "parent"])
    assert state.steps[-1].candidate == commits[12]
    bisect_steps = [s for s in state.steps if s.role == "bisect"]
    assert len(bisect_steps) <= 6
    log = (state.dir / "repo.git" / "BISECT_LOG").read_text()
    for command in ("git bisect start", "git bisect good", "git bisect bad", "git bisect skip"):
        assert command in log
    assert f"# first bad commit: [{commits[13]}]" in log
    assert snapshot(repo) == before


def test_candidates_are_built_from_the_users_tree_in_one_build_tree(value_repo, bisect_cache):
    repo, commits = value_repo
    state = git_state(repo, "HEAD~19", "HEAD", OPTIONS)
    plan = plan_for(state)
    requests = [plan.request(sha) for sha in commits[1:4]]
    assert [r.source for r in requests] == [f"git:{repo.resolve()}@{sha}" for sha in commits[1:4]]
    names = {build_tree_name(r, Source(r.source, repo, "")) for r in requests}
    assert names == {build_tree_name(requests[0], Source(requests[0].source, repo, ""))}
    alone = BuildRequest(arch=get_arch("x86_64"), source=requests[1].source)
    assert build_tree_name(alone, Source(alone.source, repo, "")) not in names


def test_a_flaky_test_does_not_derail_the_bisect(value_repo, bisect_cache, sim):
    """Good kernels now and then show another kernel warning and fail another case; bad
    kernels fail the test only on every other run. Three runs a candidate find the culprit."""
    repo, commits = value_repo

    def outcome(value: int, index: int) -> RunResult:
        noise = ("WARNING in rcu_core",) if (value + index) % 3 == 0 else ()
        if value >= 11 and (value + index) % 2 == 0:
            return RunResult("fail", problems=noise, message="does not show file page 3")
        return RunResult("pass", problems=noise)

    state = git_state(
        repo, commits[0], commits[-1], BisectOptions(test="smoke/smoke/remap_file_pages", repeat=3)
    )
    result = run_bisect(state, plan_for(state), sim.Bench(sim.git_value(repo), outcome))
    assert (result.kind, result.culprit) == ("confirmed", commits[11])
    weak = [s for s in state.steps if s.verdict == "bad" and len(s.runs) > 1]
    assert weak, "some bad verdicts needed a second run"


def test_a_spurious_failure_is_unconfirmed_not_blamed(value_repo, bisect_cache, sim):
    """Commit 9, the first one git bisect tests, fails once by chance; the real culprit is
    15. The bisect ends at 9, whose re-run passes: no commit is blamed."""
    repo, commits = value_repo

    def outcome(value: int, index: int) -> RunResult:
        if value >= 15 or (value == 9 and bench.runs.count((9, 0)) == 1):
            return RunResult("fail", message="does not show file page 3")
        return RunResult("pass")

    state = git_state(repo, commits[0], commits[-1], OPTIONS)
    bench = sim.Bench(sim.git_value(repo), outcome)
    result = run_bisect(state, plan_for(state), bench)
    assert state.steps[1].candidate == commits[9]
    assert (result.kind, result.culprit) == ("unconfirmed", commits[9])
    assert "did not fail again (good: 1 of 1 runs passed)" in result.message


def test_adjacent_good_and_bad_need_no_bisect_step(value_repo, bisect_cache, sim):
    repo, commits = value_repo
    state = git_state(repo, commits[6], commits[7], OPTIONS)
    bench = sim.Bench(sim.git_value(repo), sim.fails_from(7))
    result = run_bisect(state, plan_for(state), bench)
    assert (result.kind, result.culprit) == ("confirmed", commits[7])
    assert [s.role for s in state.steps] == ["bad end", "culprit", "parent"]


def test_a_bad_end_that_passes_stops_the_bisect(value_repo, bisect_cache, sim):
    repo, commits = value_repo
    state = git_state(repo, commits[0], commits[-1], OPTIONS)
    bench = sim.Bench(sim.git_value(repo), sim.fails_from(99))
    result = run_bisect(state, plan_for(state), bench)
    assert result.kind == "not-reproduced"
    assert bench.builds == [19]


def test_a_bad_end_that_does_not_build_is_untestable(value_repo, bisect_cache, sim):
    repo, commits = value_repo
    state = git_state(repo, commits[0], commits[-1], OPTIONS)
    bench = sim.Bench(sim.git_value(repo), sim.fails_from(3), unbuildable=frozenset({19}))
    assert run_bisect(state, plan_for(state), bench).kind == "untestable"


def test_skips_around_the_first_bad_commit_leave_candidates(value_repo, bisect_cache, sim):
    repo, commits = value_repo
    state = git_state(repo, commits[0], commits[8], OPTIONS)
    bench = sim.Bench(sim.git_value(repo), sim.fails_from(6), unbuildable=frozenset({4, 5}))
    result = run_bisect(state, plan_for(state), bench)
    assert result.kind == "ambiguous"
    assert set(result.could_be) == {commits[4], commits[5], commits[6]}


def test_parse_real_git_bisect_output(value_repo, tmp_path):
    repo, commits = value_repo
    scratch = tmp_path / "scratch.git"
    git(tmp_path, "clone", "-q", "--bare", "--shared", str(repo), str(scratch))
    start = git(scratch, "bisect", "start", "--no-checkout", commits[3], commits[0])
    step = parse_bisect_output(start, scratch)
    assert isinstance(step, Candidate) and step.key in commits[1:3]
    git(scratch, "bisect", "skip")
    rest = git(scratch, "bisect", "skip", check=False)
    assert parse_bisect_output(rest, scratch) == Conclusion(None, tuple(commits[1:4]))
    git(scratch, "bisect", "reset")
    git(scratch, "bisect", "start", "--no-checkout", commits[3], commits[2])
    assert parse_bisect_output(
        git(scratch, "bisect", "good", commits[2], check=False), scratch
    ) == Conclusion(commits[3])
    with pytest.raises(UsageError, match="git bisect"):
        parse_bisect_output("Some good revs are not ancestors of the bad rev.", scratch)


def test_revisions_are_checked_in_the_users_tree(value_repo, tmp_path):
    repo, commits = value_repo
    assert resolve_commit(repo, "HEAD~2") == commits[-3]
    with pytest.raises(UsageError, match=r"revision 'v9\.9' not found"):
        resolve_commit(repo, "v9.9")
    with pytest.raises(UsageError, match="is not a git repository"):
        resolve_commit(tmp_path, "HEAD")
    with pytest.raises(UsageError, match="same commit"):
        git_state(repo, "HEAD", commits[-1], OPTIONS)


def test_good_after_bad_is_refused_before_anything_is_built(value_repo, bisect_cache, sim):
    repo, commits = value_repo
    state = git_state(repo, commits[9], commits[2], OPTIONS)
    bench = sim.Bench(sim.git_value(repo), sim.fails_from(5))
    with pytest.raises(UsageError, match="not ancestors of the bad rev"):
        run_bisect(state, plan_for(state), bench)
    assert bench.builds == [] and state.steps == []


def test_a_commit_names_its_subject_author_and_files(value_repo, bisect_cache):
    repo, commits = value_repo
    plan = plan_for(git_state(repo, commits[0], commits[-1], OPTIONS))
    assert isinstance(plan, GitPlan)
    change = plan.change(commits[13])
    assert (change.ident, change.title, change.author) == (
        commits[13],
        "value 13",
        "Dev 13 <dev13@example.org>",
    )
    assert change.files == ("value.txt",)
    assert "1 file changed" in change.stat
    assert plan.label(commits[13]) == f"{commits[13][:7]} value 13"
    assert plan.parent(commits[13]) == commits[12]
    assert plan.count() == 19
