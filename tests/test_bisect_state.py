"""A bisect's saved state: written atomically after every step, resumed where it stopped."""

import json
import os
import shutil

import pytest

from lab.bisect.command import BisectOptions, bisect, git_state, plan_for, series_state
from lab.bisect.driver import run_bisect, time_left
from lab.bisect.policy import RunResult
from lab.bisect.state import (
    STATE_FILE,
    Step,
    bisect_lock,
    bisect_root,
    load_state,
    save_state,
)
from lab.errors import UsageError
from lab.paths import PROJECT_ROOT

OPTIONS = BisectOptions(test="smoke/smoke/remap_file_pages", repeat=1)
DEMO = PROJECT_ROOT / "patches" / "examples" / "bisect-demo"


def test_state_round_trips_through_json(value_repo, bisect_cache):
    repo, commits = value_repo
    state = git_state(repo, commits[0], commits[-1], OPTIONS)
    state.titles = ["kernel BUG in zap_pte_range"]
    state.steps.append(
        Step(
            1,
            "bad end",
            commits[-1],
            "abc value 19",
            "bad",
            "1 of 1 failed",
            build_id="b1",
            kernel_digest="d1",
            build_s=3.5,
            duration_s=9.0,
            runs=[
                RunResult(
                    "fail", problems=("WARNING in x",), duration_s=4.2, message="m", run_dir="/r"
                )
            ],
        )
    )
    path = save_state(state)
    assert path == bisect_root() / state.id / STATE_FILE
    assert json.loads(path.read_text())["steps"][0]["runs"][0]["problems"] == ["WARNING in x"]
    assert load_state(state.id) == state
    assert load_state(state.id[:17]) == state  # a unique prefix


def test_a_failed_write_keeps_the_previous_state(value_repo, bisect_cache, monkeypatch):
    repo, commits = value_repo
    state = git_state(repo, commits[0], commits[-1], OPTIONS)
    save_state(state)
    before = (state.dir / STATE_FILE).read_text()
    state.steps.append(Step(1, "bad end", commits[-1], "x", "bad", "r"))

    def crash(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        save_state(state)
    assert (state.dir / STATE_FILE).read_text() == before


def test_unknown_bisect_ids_are_refused(bisect_cache):
    with pytest.raises(UsageError, match="no bisect matching 'nope'"):
        load_state("nope")


def test_series_state_names_its_range(bisect_cache):
    state = series_state("debian-6.1", DEMO, OPTIONS)
    assert (state.kind, state.good, state.bad, state.series) == ("series", "0", "16", str(DEMO))
    assert state.command.startswith(
        f"lab bisect --source debian-6.1 --series {DEMO} --arch "
        "x86_64 --test smoke/smoke/remap_file_pages --repeat 1"
    )


def test_an_interrupted_git_bisect_resumes_without_repeating_a_step(value_repo, bisect_cache, sim):
    repo, commits = value_repo

    def bench(**kwargs):
        return sim.Bench(
            sim.git_value(repo), sim.fails_from(13), unbuildable=frozenset({9}), **kwargs
        )

    reference = git_state(repo, commits[0], commits[-1], OPTIONS)
    uninterrupted = bench()
    expected = run_bisect(reference, plan_for(reference), uninterrupted)

    state = git_state(repo, commits[0], commits[-1], OPTIONS)
    first = bench(interrupt_at_build=3)  # after the bad end and two bisect steps
    with pytest.raises(KeyboardInterrupt):
        run_bisect(state, plan_for(state), first)
    saved = load_state(state.id)
    assert [s.role for s in saved.steps] == ["bad end", "bisect", "bisect"]
    assert saved.result is None

    shutil.rmtree(saved.dir / "repo.git")  # even the scratch clone may be gone
    second = bench()
    result = run_bisect(saved, plan_for(saved), second)
    assert (result.kind, result.culprit) == (expected.kind, expected.culprit)
    assert first.builds + second.builds == uninterrupted.builds  # nothing built twice
    assert [s.candidate for s in saved.steps] == [s.candidate for s in reference.steps]
    assert load_state(saved.id).result == result


def test_an_interrupted_series_bisect_resumes_without_repeating_a_step(bisect_cache, sim):
    state = series_state("debian-6.1", DEMO, OPTIONS)
    first = sim.Bench(
        sim.series_value, sim.fails_from(11), unbuildable=frozenset({8}), interrupt_at_build=2
    )
    with pytest.raises(KeyboardInterrupt):
        run_bisect(state, plan_for(state), first)
    assert first.builds == [16, 8]
    saved = load_state(state.id)
    second = sim.Bench(sim.series_value, sim.fails_from(11), unbuildable=frozenset({8}))
    result = run_bisect(saved, plan_for(saved), second)
    assert (result.kind, result.culprit) == ("confirmed", "11")
    assert second.builds == [9, 13, 11, 10, 11, 10]  # the rest, then culprit and parent


def test_a_finished_bisect_is_not_run_again(value_repo, bisect_cache, sim):
    repo, commits = value_repo
    state = git_state(repo, commits[0], commits[-1], OPTIONS)
    run_bisect(state, plan_for(state), sim.Bench(sim.git_value(repo), sim.fails_from(4)))
    again = sim.Bench(sim.git_value(repo), sim.fails_from(4))
    saved = load_state(state.id)
    assert run_bisect(saved, plan_for(saved), again).culprit == commits[4]
    assert again.builds == []


def test_a_running_bisect_cannot_be_resumed_twice(value_repo, bisect_cache):
    repo, commits = value_repo
    state = git_state(repo, commits[0], commits[-1], OPTIONS)
    with bisect_lock(state), pytest.raises(UsageError, match="running in another process"):
        bisect(load_state(save_state(state).parent.name))
    with bisect_lock(state):  # free again
        pass


def test_the_time_left_counts_the_steps_left_and_the_confirmation(value_repo, bisect_cache):
    repo, commits = value_repo
    state = git_state(repo, commits[0], commits[-1], OPTIONS)
    assert time_left(state, 3) == ""
    for number, seconds in ((1, 50.0), (2, 70.0)):
        state.steps.append(
            Step(number, "bisect", commits[number], "", "good", "", duration_s=seconds)
        )
    assert time_left(state, 3) == ", ~5 min to go"  # (3 + 2) steps of 60 s
    assert time_left(state, 0) == ", ~2 min to go"
