"""The SQLite history: round trips, whole-run transactions, the queries, the schema version."""

import sqlite3
from dataclasses import replace

import platformdirs
import pytest

from lab import paths
from lab.errors import UsageError
from lab.history.store import SCHEMA_V1, SCHEMA_VERSION, HistoryStore

CELL = "debian-6.1/x86_64/none"
HASH = "debian-6.1/ppc64-hash/heavy"


def test_a_run_reads_back_as_it_was_written(tmp_path, history_run):
    run = history_run(
        "20261101-010000",
        {
            CELL: [("boot", "boot", "p"), ("fault", "fault/cow_fork", "pf")],
            HASH: [("nonlinear", "nonlinear/edges", "i")],
        },
    )
    with HistoryStore(tmp_path / "h.sqlite") as db:
        db.write_run(run)
    with HistoryStore(tmp_path / "h.sqlite") as db:
        assert db.run("20261101-010000") == run
        assert db.has_run("20261101-010000") and not db.has_run("20261101-010001")
    assert [c.variant for c in run.cells] == ["x86_64", "ppc64-hash"]


def test_writing_a_run_again_replaces_it(tmp_path, history_run):
    with HistoryStore(tmp_path / "h.sqlite") as db:
        db.write_run(
            history_run(
                "20261101-010000", {CELL: [("boot", "boot", "p"), ("smoke", "smoke/kernel", "p")]}
            )
        )
        again = history_run("20261101-010000", {CELL: [("boot", "boot", "f")]})
        db.write_run(again)
        assert db.run("20261101-010000") == again


def test_a_run_that_cannot_be_written_leaves_no_trace(tmp_path, history_run):
    run = history_run("20261101-010000", {CELL: [("boot", "boot", "p")]})
    twice = replace(run, results=run.results * 2)  # the same attempt twice: the last insert fails
    with HistoryStore(tmp_path / "h.sqlite") as db:
        with pytest.raises(sqlite3.IntegrityError):
            db.write_run(twice)
        assert not db.has_run("20261101-010000")
        assert db.runs() == []
        stray = replace(run, results=(replace(run.results[0], cell="other/x86_64/none"),))
        with pytest.raises(ValueError, match=r"unknown cells \['other/x86_64/none'\]"):
            db.write_run(stray)
        foreign = replace(run, results=(replace(run.results[0], run_id="20261101-020000"),))
        with pytest.raises(ValueError, match="cells or results of another run"):
            db.write_run(foreign)
        assert db.runs() == []


def test_runs_are_listed_newest_first(tmp_path, history_run):
    with HistoryStore(tmp_path / "h.sqlite") as db:
        for run_id in ("20261102-010000", "20261101-010000", "20261103-010000"):
            db.write_run(history_run(run_id, {CELL: [("boot", "boot", "p")]}))
        assert [r.run_id for r in db.runs()] == [
            "20261103-010000",
            "20261102-010000",
            "20261101-010000",
        ]
        assert [r.run_id for r in db.runs(last=1)] == ["20261103-010000"]
        with pytest.raises(UsageError, match="run '20261104-010000' is not in the history"):
            db.run("20261104-010000")


def test_case_history_per_cell_oldest_first_with_filters(tmp_path, history_run):
    with HistoryStore(tmp_path / "h.sqlite") as db:
        for day, states in enumerate(("p", "p", "pf", "f"), 1):
            db.write_run(
                history_run(
                    f"202611{day:02}-010000",
                    {
                        CELL: [("fault", "fault/cow_fork", states), ("boot", "boot", "p")],
                        HASH: [("fault", "fault/cow_fork", "p")],
                    },
                )
            )
        history = db.case_history("fault/fault/cow_fork")
        assert [(r.cell.key, r.run.run_id, [a.state for a in r.attempts]) for r in history] == [
            (HASH, "20261101-010000", ["pass"]),
            (HASH, "20261102-010000", ["pass"]),
            (HASH, "20261103-010000", ["pass"]),
            (HASH, "20261104-010000", ["pass"]),
            (CELL, "20261101-010000", ["pass"]),
            (CELL, "20261102-010000", ["pass"]),
            (CELL, "20261103-010000", ["pass", "fail"]),
            (CELL, "20261104-010000", ["fail"]),
        ]
        assert history[6].state == "fail" and history[6].attempts[1].attempt == 2
        assert db.case_history("fault/cow_fork") == history
        assert [r.run.run_id for r in db.case_history("fault/cow_fork", cell=CELL, last=2)] == [
            "20261103-010000",
            "20261104-010000",
        ]
        hashed = db.case_history("fault/cow_fork", variants=(("ppc64", "hash"),), last=1)
        assert [(r.cell.key, r.run.run_id) for r in hashed] == [(HASH, "20261104-010000")]
        assert db.case_history("fault/cow_fork", variants=(("ppc64", "radix"),)) == []
        assert [r.cell.key for r in db.case_history("boot/boot", last=1)] == [CELL]
        assert db.case_history("fault/no_such_case") == []


def test_a_name_that_matches_two_cases_is_refused(tmp_path, history_run):
    with HistoryStore(tmp_path / "h.sqlite") as db:
        db.write_run(history_run("20261101-010000", {CELL: [("a", "x/y", "p"), ("b", "x/y", "p")]}))
        with pytest.raises(UsageError, match="'x/y' names 2 cases: a/x/y, b/x/y"):
            db.case_history("x/y")
        assert [r.attempts[0].suite for r in db.case_history("b/x/y")] == ["b"]


def test_the_last_runs_of_a_cell(tmp_path, history_run):
    with HistoryStore(tmp_path / "h.sqlite") as db:
        for day in (1, 2, 3):
            db.write_run(
                history_run(
                    f"202611{day:02}-010000",
                    {
                        CELL: [("boot", "boot", "p"), ("smoke", "smoke/kernel", "f")],
                        HASH: [("boot", "boot", "p")],
                    },
                )
            )
        runs = db.cell_runs(CELL, last=2)
        assert [r.run.run_id for r in runs] == ["20261102-010000", "20261103-010000"]
        assert [c.key for r in runs for c in r.cells] == [CELL, CELL]
        assert [(x.test, x.state) for x in runs[1].results] == [
            ("boot/boot", "pass"),
            ("smoke/smoke/kernel", "fail"),
        ]
        assert len(db.cell_runs(HASH)) == 3


def test_the_schema_is_versioned_and_indexed(tmp_path):
    path = tmp_path / "h.sqlite"
    HistoryStore(path).close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 2
    indexes = {
        row[0]
        for row in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%'"
        )
    }
    assert indexes == {"results_by_case", "cells_by_variant", "runs_by_start"}
    plan = " ".join(
        row[3]
        for row in db.execute(
            "EXPLAIN QUERY PLAN SELECT * FROM results WHERE case_name = ? AND suite = ?",
            ("fault/cow_fork", "fault"),
        )
    )
    assert "results_by_case" in plan
    db.execute("PRAGMA user_version = 3")
    db.commit()
    db.close()
    with pytest.raises(UsageError, match="history schema version 3 is newer than this lab's"):
        HistoryStore(path)


def test_a_file_that_is_no_database_is_refused(tmp_path):
    path = tmp_path / "h.sqlite"
    path.write_text("not sqlite at all, but long enough to have a header " * 4)
    with pytest.raises(UsageError, match="is not a faultlab history"):
        HistoryStore(path)


def test_the_default_history_path(monkeypatch, tmp_path):
    monkeypatch.setenv("FAULTLAB_HISTORY", str(tmp_path / "mine.sqlite"))
    assert paths.history_path() == tmp_path / "mine.sqlite"
    monkeypatch.delenv("FAULTLAB_HISTORY")
    assert paths.history_path() == (platformdirs.user_data_path("faultlab") / "history.sqlite")


def test_a_version_1_history_gains_the_lab_and_the_tools(tmp_path, history_run):
    path = tmp_path / "v1.sqlite"
    old = sqlite3.connect(path, isolation_level=None)
    for statement in SCHEMA_V1:
        old.execute(statement)
    old.execute("PRAGMA user_version = 1")
    old.execute("INSERT INTO runs VALUES ('20261101-010000', 's', 'f', 'run', '', 'h', '/r', 1)")
    old.close()
    with HistoryStore(path) as db:
        assert db.run("20261101-010000").run.lab == ""
        run = history_run(
            "20261102-010000", {"debian-6.1/x86_64/none": [("smoke", "smoke/a", "p")]}
        )
        run = replace(
            run,
            run=replace(run.run, lab="faultlab 0.1.0 (3f2a9c1b0d4e)"),
            cells=tuple(replace(c, tools="QEMU emulator version 7.2.15") for c in run.cells),
        )
        db.write_run(run)
        back = db.run("20261102-010000")
    assert back.run.lab == "faultlab 0.1.0 (3f2a9c1b0d4e)"
    assert back.cells[0].tools == "QEMU emulator version 7.2.15"
