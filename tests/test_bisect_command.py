"""`lab bisect` from the command line, and bisects taken from a regression in the history."""

import json
from pathlib import Path

import pytest

from lab.bisect.command import BisectOptions, git_state, plan_for, regression_state
from lab.bisect.driver import run_bisect
from lab.bisect.regression import failure_titles, find_regression
from lab.bisect.report import collect, write_report
from lab.cli import main
from lab.errors import UsageError
from lab.history.ingest import ingest_run_dir
from lab.history.model import KernelIdentity
from lab.history.store import HistoryStore
from lab.kernel.series import load_series
from lab.paths import PROJECT_ROOT

DEMO = PROJECT_ROOT / "patches" / "examples" / "bisect-demo"
TEST = "smoke/smoke/remap_file_pages"
CELL = "debian-6.1/x86_64/none"
BASE = KernelIdentity("debian-6.1", build_id="b-clean", release="6.1.192+")
WITH_SERIES = KernelIdentity(
    "debian-6.1", str(DEMO), load_series(DEMO).digest, build_id="b-demo", release="6.1.192+"
)


def nights(
    history_run, states: str, kernels: list[KernelIdentity], cells: tuple[str, ...] = (CELL,)
) -> list:
    """One run a day; day i has `states[i]` for the test and runs kernels[i] in each cell."""
    return [
        history_run(
            f"202611{10 + day:02d}-010000",
            {cell: [("smoke", "smoke/remap_file_pages", state)] for cell in cells},
            {cell: kernel for cell in cells},
        )
        for day, (state, kernel) in enumerate(zip(states, kernels, strict=True))
    ]


def history_of(tmp_path: Path, runs) -> Path:
    path = tmp_path / "history.sqlite"
    with HistoryStore(path) as db:
        for run in runs:
            db.write_run(run)
    return path


def regression(path: Path, run_id: str, case: str = TEST, cell: str | None = None):
    with HistoryStore(path) as db:
        return find_regression(db, run_id, case, cell)


def test_a_series_tried_in_a_cell_is_bisected_over_its_patches(tmp_path, history_run, bisect_cache):
    path = history_of(tmp_path, nights(history_run, "pppf", [BASE] * 3 + [WITH_SERIES]))
    found = regression(path, "20261113-010000")
    assert (found.cell, found.variant, found.pressure, found.seed) == (CELL, "x86_64", "none", 7)
    assert (found.good_run, found.bad_run) == ("20261112-010000", "20261113-010000")
    assert (found.source, found.series, found.tree) == ("debian-6.1", str(DEMO), "")
    assert found.titles == ()  # a failing case is its own signature
    state = regression_state(found, BisectOptions(repeat=1))
    assert (state.kind, state.good, state.bad, state.seed) == ("series", "0", "16", 7)
    assert (state.test, state.arch, state.source) == (TEST, "x86_64", "debian-6.1")


def test_a_thread_tried_in_a_cell_is_bisected_over_its_chosen_revision(
    tmp_path, history_run, bisect_cache
):
    thread = PROJECT_ROOT / "patches" / "examples" / "msync-comments-thread.mbox"
    digest = load_series(thread).digest  # what a build of it records as series_sha256
    tried = KernelIdentity("debian-6.1", str(thread), digest, build_id="b-thread")
    path = history_of(tmp_path, nights(history_run, "ppf", [BASE, BASE, tried]))
    found = regression(path, "20261112-010000")
    assert (found.source, found.series) == ("debian-6.1", str(thread))
    state = regression_state(found, BisectOptions(repeat=1))
    assert (state.kind, state.good, state.bad) == ("series", "0", "3")


def test_two_commits_of_a_git_tree_are_bisected(tmp_path, history_run, bisect_cache, value_repo):
    repo, commits = value_repo
    good = KernelIdentity(f"git:{repo}@{commits[2]}", build_id="gone1")
    bad = KernelIdentity(f"git:{repo}@{commits[17]}", build_id="gone2")
    path = history_of(
        tmp_path, nights(history_run, "ppf", [good, good, bad], cells=("linux/ppc64-hash/heavy",))
    )
    found = regression(path, "20261112-010000", case="smoke/remap_file_pages")
    assert (found.tree, found.good, found.bad) == (str(repo), commits[2], commits[17])
    state = regression_state(found, BisectOptions(repeat=1))
    assert (state.kind, state.arch, state.pressure) == ("git", "ppc64-hash", "heavy")
    assert (state.good, state.bad, state.tree) == (commits[2], commits[17], str(repo))


@pytest.mark.parametrize(
    "states, kernels, run_id, cell, error",
    [
        ("ppp", [BASE] * 3, "20261112-010000", None, "did not fail in run 20261112-010000"),
        ("pfpf", [BASE, WITH_SERIES] * 2, "20261113-010000", None, "flaky"),
        ("ppf", [BASE] * 3, "20261112-010000", None, "the kernel did not change"),
        (
            "ppf",
            [BASE, BASE, KernelIdentity("debian-6.12", build_id="x")],
            "20261112-010000",
            None,
            "cannot bisect between",
        ),
        (
            "ppf",
            [BASE, BASE, KernelIdentity("debian-6.1", str(DEMO), "0ld", build_id="y")],
            "20261112-010000",
            None,
            "changed since the failing run",
        ),
        ("ppf", [BASE] * 2 + [WITH_SERIES], "20991231-010000", None, "is not in the history"),
    ],
)
def test_what_cannot_be_bisected_is_refused(
    tmp_path, history_run, bisect_cache, states, kernels, run_id, cell, error
):
    path = history_of(tmp_path, nights(history_run, states, kernels))
    with pytest.raises(UsageError, match=error):
        regression(path, run_id, cell=cell)


def test_a_failure_in_several_cells_asks_for_one(tmp_path, history_run, bisect_cache):
    cells = (CELL, "debian-6.1/ppc64/none")
    path = history_of(tmp_path, nights(history_run, "pf", [BASE, WITH_SERIES], cells=cells))
    with pytest.raises(UsageError, match=r"in 2 cells: .*; choose one with --cell"):
        regression(path, "20261111-010000")
    assert regression(path, "20261111-010000", cell=cells[1]).variant == "ppc64"


def test_a_kernel_log_failure_brings_its_report_titles(regressed_runs):
    first, second = regressed_runs
    with HistoryStore(Path(second.parent.parent / "history.sqlite")) as db:
        ingest_run_dir(db, first)
        ingest_run_dir(db, second)
        runs = db.case_history("fault/fault/kernel")
        assert failure_titles(runs[-1]) == (
            "WARNING in lkdtm_WARNING",
            "kernel BUG in lkdtm_BUG",
            "BUG: Kernel NULL pointer dereference in lkdtm_EXCEPTION",
        )
        # both runs ran the same kernel: there is nothing to bisect
        with pytest.raises(UsageError, match="the kernel did not change"):
            find_regression(db, second.name, "fault/fault/kernel", None)


def test_the_command_needs_one_form(bisect_cache, capsys):
    assert main(["bisect", "--test", TEST]) == 2
    assert "give one of --tree" in capsys.readouterr().err
    assert main(["bisect", "--tree", "/x", "--test", TEST]) == 2
    assert "--tree needs --good REV and --bad REV" in capsys.readouterr().err
    assert main(["bisect", "--series", str(DEMO)]) == 2
    assert "--test SUITE/PROGRAM/CASE" in capsys.readouterr().err
    assert main(["bisect", "--resume", "20990101"]) == 2


def test_bad_options_are_refused_before_anything_runs(value_repo, bisect_cache, capsys):
    repo, commits = value_repo
    for options, error in (
        (["--pressure", "crushing"], "unknown pressure profile 'crushing'"),
        (["--arch", "sparc"], "unknown arch 'sparc'"),
        (["--repeat", "-1"], "run each candidate at least once"),
        (["--test", "smoke/nope/x"], "suite smoke has no program 'nope'"),
    ):
        argv = [
            "bisect",
            "--tree",
            str(repo),
            "--good",
            commits[0],
            "--bad",
            commits[5],
            "--test",
            TEST,
            *options,
        ]
        assert main(argv) == 2
        assert error in capsys.readouterr().err
    assert not (bisect_cache / "bisect").exists()


def test_resuming_a_finished_bisect_prints_its_report(value_repo, bisect_cache, sim, capsys):
    repo, commits = value_repo
    state = git_state(repo, commits[0], commits[-1], BisectOptions(test=TEST, repeat=1))
    plan = plan_for(state)
    run_bisect(state, plan, sim.Bench(sim.git_value(repo), sim.fails_from(13)))
    write_report(collect(state, plan))
    assert main(["bisect", "--resume", state.id]) == 0
    out = capsys.readouterr().out
    assert "confirmed:" in out and "culprit: value 13" in out
    assert "report.md" in out.replace("\n", "")


def test_from_regression_without_a_history_is_refused(tmp_path, bisect_cache, capsys):
    assert (
        main(
            [
                "bisect",
                "--from-regression",
                "20261113-010000",
                TEST,
                "--history",
                str(tmp_path / "none.sqlite"),
            ]
        )
        == 2
    )
    assert "no history at" in capsys.readouterr().err


def test_a_bisect_as_json(value_repo, bisect_cache, sim, capsys):
    repo, commits = value_repo
    state = git_state(repo, commits[0], commits[-1], BisectOptions(test=TEST, repeat=1))
    plan = plan_for(state)
    run_bisect(state, plan, sim.Bench(sim.git_value(repo), sim.fails_from(13)))
    assert main(["bisect", "--resume", state.id, "--json"]) == 0
    out, err = capsys.readouterr()
    document = json.loads(out)  # stdout holds the document alone
    assert f"bisect {state.id}" in err
    assert (document["id"], document["kind"], document["test"]) == (state.id, "git", TEST)
    assert document["range"] == f"git {repo}: {commits[0][:12]}..{commits[-1][:12]} (19 commits)"
    assert document["result"]["kind"] == "confirmed"
    assert document["result"]["culprit"] == commits[13]
    culprit = document["culprit"]
    assert (culprit["ident"], culprit["title"], culprit["files"]) == (
        commits[13],
        "value 13",
        ["value.txt"],
    )
    assert culprit["author"] == "Dev 13 <dev13@example.org>"
    assert document["failing"]["message"] == "data mismatch at page 3"
    first = document["steps"][0]
    assert (first["role"], first["verdict"], first["build_id"]) == ("bad end", "bad", "b0019")
    assert (first["failed"], first["passed"], first["no_evidence"]) == (1, 0, 0)
    assert first["runs"][0]["state"] == "fail"
    assert [s["role"] for s in document["steps"][-2:]] == ["culprit", "parent"]
    assert document["reproduce"][0].startswith("lab run --arch x86_64 --suite smoke --seed ")
    assert document["reproduce"][0].endswith("--kernel b0013")
    assert document["report"] == str(state.dir / "report.md")
    assert document["directory"] == str(state.dir)


def test_a_bisect_without_a_culprit_as_json_keeps_its_exit_status(
    value_repo, bisect_cache, sim, capsys
):
    repo, commits = value_repo
    state = git_state(repo, commits[0], commits[-1], BisectOptions(test=TEST, repeat=1))
    run_bisect(state, plan_for(state), sim.Bench(sim.git_value(repo), sim.fails_from(99)))
    assert main(["bisect", "--resume", state.id, "--json"]) == 1
    document = json.loads(capsys.readouterr().out)
    assert document["result"]["kind"] == "not-reproduced"
    assert (document["culprit"], document["failing"], document["reproduce"]) == (None, None, [])
    assert [s["verdict"] for s in document["steps"]] == ["good"]
