"""A run's cases classified against their cells' earlier runs, regressions first, and the
exit status of `lab report`."""

from dataclasses import replace

from lab.exitcodes import ExitStatus
from lab.history.model import KernelIdentity
from lab.history.store import HistoryStore
from lab.report import text
from lab.report.status import report_exit_status
from lab.report.verdicts import classify_run, earlier_runs, of_kind

X86 = "debian-6.1/x86_64/none"
HASH = "debian-6.1/ppc64-hash/none"


def nights(history_run, *cases_per_night):
    """One run a night, 2026-11-01 on; each night's cases {cell: [(suite, case, states)]}."""
    return [
        history_run(f"202611{day:02}-010000", cells) for day, cells in enumerate(cases_per_night, 1)
    ]


def test_regressions_come_first_then_fixes_then_flaky_cases(history_run):
    *earlier, newest = nights(
        history_run,
        {
            X86: [
                ("boot", "boot", "p"),
                ("fault", "fault/race", "p"),
                ("fault", "fault/eof", "f"),
                ("fault", "fault/edges", "p"),
                ("smoke", "smoke/kernel", "p"),
            ],
            HASH: [("nonlinear", "nonlinear/edges", "p")],
        },
        {
            X86: [
                ("boot", "boot", "p"),
                ("fault", "fault/race", "f"),
                ("fault", "fault/eof", "f"),
                ("fault", "fault/edges", "p"),
                ("smoke", "smoke/kernel", "p"),
            ],
            HASH: [("nonlinear", "nonlinear/edges", "p")],
        },
        {
            X86: [
                ("boot", "boot", "p"),
                ("fault", "fault/race", "p"),
                ("fault", "fault/eof", "p"),
                ("fault", "fault/edges", "f"),
                ("smoke", "smoke/kernel", "s"),
                ("nopfn", "nopfn/insert", "f"),
            ],
            HASH: [("nonlinear", "nonlinear/edges", "f")],
        },
    )
    history = {X86: earlier, HASH: earlier}
    verdicts = classify_run(newest, history)
    assert [(v.kind, v.cell.key, v.test) for v in verdicts] == [
        ("regression", X86, "fault/fault/edges"),
        ("regression", HASH, "nonlinear/nonlinear/edges"),
        ("fix", X86, "fault/fault/eof"),
        ("flaky", X86, "fault/fault/race"),
        ("new-failure", X86, "nopfn/nopfn/insert"),
        ("untested", X86, "smoke/smoke/kernel"),
        ("stable", X86, "boot/boot"),
    ]
    regression = verdicts[0]
    assert (regression.state, regression.message) == ("fail", "fail message")
    assert regression.verdict.last_good.run_id == "20261102-010000"
    assert [v.test for v in of_kind(verdicts, "fix")] == ["fault/fault/eof"]
    assert report_exit_status(verdicts) == ExitStatus.FAILED == 1


def test_a_first_run_has_no_regressions_even_when_cases_fail(history_run):
    (run,) = nights(history_run, {X86: [("boot", "boot", "p"), ("fault", "fault/race", "f")]})
    verdicts = classify_run(run, {})
    assert [(v.kind, v.test) for v in verdicts] == [
        ("new-failure", "fault/fault/race"),
        ("new", "boot/boot"),
    ]
    assert report_exit_status(verdicts) == ExitStatus.OK == 0


def test_still_failing_flaky_and_infra_do_not_make_the_exit_status_fail(history_run):
    *earlier, newest = nights(
        history_run,
        {X86: [("a", "a/still", "f"), ("a", "a/flaky", "p"), ("a", "a/infra", "p")]},
        {X86: [("a", "a/still", "f"), ("a", "a/flaky", "f"), ("a", "a/infra", "p")]},
        {X86: [("a", "a/still", "f"), ("a", "a/flaky", "pf"), ("a", "a/infra", "i")]},
    )
    verdicts = classify_run(newest, {X86: earlier})
    assert [(v.kind, v.case) for v in verdicts] == [
        ("flaky", "a/flaky"),
        ("still-failing", "a/still"),
        ("untested", "a/infra"),
    ]
    assert report_exit_status(verdicts) == 0


def test_the_bisect_range_names_the_kernels_since_the_last_good_run(history_run):
    good = KernelIdentity("debian-6.1", build_id="aaaa", release="6.1.190")
    bad = KernelIdentity("debian-6.1", build_id="bbbb", release="6.1.191")
    first = history_run("20261101-010000", {X86: [("fault", "fault/eof", "p")]}, {X86: good})
    second = history_run("20261102-010000", {X86: [("fault", "fault/eof", "f")]}, {X86: bad})
    (verdict,) = classify_run(second, {X86: [first]})
    assert verdict.kind == "regression"
    assert verdict.verdict.last_good.kernel == good
    assert verdict.verdict.suspect_kernels == (bad,)


def with_tools(run, tools: str):
    return replace(run, cells=tuple(replace(c, tools=tools) for c in run.cells))


def test_a_regression_says_when_the_tools_changed_since_its_last_good_run(history_run):
    first = history_run("20261101-010000", {X86: [("fault", "fault/eof", "p")]})
    second = history_run("20261102-010000", {X86: [("fault", "fault/eof", "f")]})
    old, new = "QEMU emulator version 7.2.1", "QEMU emulator version 8.0.0"
    (same,) = classify_run(with_tools(second, old), {X86: [with_tools(first, old)]})
    assert same.verdict.changed_tools is None
    assert "the tools changed" not in text.kernels_since(same)
    (changed,) = classify_run(with_tools(second, new), {X86: [with_tools(first, old)]})
    assert changed.kind == "regression"
    assert changed.verdict.changed_tools == (old, new)
    assert text.kernels_since(changed).endswith(f"the tools changed too: {old} -> {new}")


def test_the_history_is_read_up_to_the_reported_run(tmp_path, history_run):
    """Re-rendering an older run classifies it as it was then: later runs do not count."""
    runs = nights(
        history_run,
        *(
            {X86: [("fault", "fault/eof", s)], HASH: [("boot", "boot", "p")]}
            for s in ("p", "p", "f", "p")
        ),
    )
    with HistoryStore(tmp_path / "h.sqlite") as db:
        for run in runs:
            db.write_run(run)
        third = db.run("20261103-010000")
        earlier = earlier_runs(db, third)
    assert {key: [r.run.run_id for r in history] for key, history in earlier.items()} == {
        X86: ["20261101-010000", "20261102-010000"],
        HASH: ["20261101-010000", "20261102-010000"],
    }
    assert [(v.kind, v.test) for v in classify_run(third, earlier)] == [
        ("regression", "fault/fault/eof"),
        ("stable", "boot/boot"),
    ]
