"""`lab report` as a user runs it on results directories: imported on the fly, the report's
files written into the run directory, the terminal summary and the exit status."""

import sqlite3
import xml.etree.ElementTree as ET

import pytest

from lab.cli import main


@pytest.fixture
def lab(monkeypatch, capsys):
    """Run `lab ...` in this process; returns (status, output)."""
    monkeypatch.setenv("COLUMNS", "220")

    def run(*argv: str) -> tuple[int, str]:
        status = main(list(argv))
        out, err = capsys.readouterr()
        return status, out + err

    return run


def test_a_run_without_regressions_exits_0_and_one_with_a_regression_1(
    lab, regressed_runs, tmp_path
):
    first, second = regressed_runs
    status, out = lab("report", str(first))
    assert status == 0
    assert "faultlab run 20261122-105125: 2026-11-22 10:51:25 on -, 31 s, matrix -" in out
    assert "new regressions: none" in out
    assert (first / "report.html").is_file() and (first / "summary.md").is_file()

    status, out = lab("report", str(second))
    assert status == 1
    assert "new regressions: 1" in out
    assert (
        "regression: fault/fault/kernel in unknown/ppc64/none: WARNING in lkdtm_WARNING; "
        "kernel BUG in lkdtm_BUG; BUG: Kernel NULL pointer dere; "  # 80 characters
        "last good 20261122-105125 (unknown 6.1.192+ 5888a2b7ffedc4ab)"
    ) in out
    assert "│ unknown/ppc64/none │    1 │     0 │    0 │   54 │" in out
    assert f"report: {second}/report.html (" in out
    with sqlite3.connect(tmp_path / "history.sqlite") as db:
        assert db.execute("SELECT run_id FROM runs ORDER BY run_id").fetchall() == [
            ("20261122-105125",),
            ("20261123-105125",),
        ]

    html = (second / "report.html").read_text()
    assert (
        '<tr class="regression" data-case="fault/fault/kernel" data-cell="unknown/ppc64/none">'
        in html
    )
    assert '<a href="ppc64/boot1-console.log">console log</a>' in html
    assert '<a href="ppc64/kernel.log">kernel log</a>' in html
    assert "- new regressions: yes, 1 (exit status 1)" in (second / "summary.md").read_text()
    suites = ET.parse(second / "report-junit.xml").getroot()
    failed = [
        (case.get("classname"), case.get("name"))
        for case in suites.iter("testcase")
        if case.find("failure") is not None
    ]
    assert failed == [("unknown/ppc64/none.fault", "fault/kernel")]


def test_a_run_of_the_history_is_reported_by_its_id_into_its_directory(lab, regressed_runs):
    first, second = regressed_runs
    assert lab("history", "--import", str(first), str(second))[0] == 0
    status, _ = lab("report", "20261123-105125", "--last", "1")
    assert status == 1
    assert (second / "report.html").is_file()
    assert not (first / "report.html").exists()


def test_reporting_an_earlier_run_again_ignores_the_runs_after_it(lab, regressed_runs):
    first, second = regressed_runs
    assert lab("report", str(first))[0] == 0
    assert lab("report", str(second))[0] == 1
    assert lab("report", str(first))[0] == 0
    assert "- new regressions: no (exit status 0)" in (first / "summary.md").read_text()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("report", "20261122-999999"), "'20261122-999999' is neither a run of the history"),
        (("report", "--last", "0", "x"), "--last 0: plot at least one run"),
    ],
)
def test_bad_requests_are_usage_errors(lab, regressed_runs, argv, message):
    status, out = lab(*argv)
    assert status == 2
    assert message in out


def test_a_run_whose_directory_is_gone_says_so(lab, regressed_runs, tmp_path):
    first, _ = regressed_runs
    assert lab("history", "--import", str(first))[0] == 0
    moved = tmp_path / "elsewhere" / first.name
    moved.parent.mkdir()
    first.rename(moved)
    status, out = lab("report", "20261122-105125")
    assert status == 2
    assert f"the results directory of run 20261122-105125, {first}, is gone" in out
    assert lab("report", str(moved))[0] == 0
    assert (moved / "report.html").is_file()
