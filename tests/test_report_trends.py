"""A case over the last runs of its cell, which cases get a plot, and the plot itself."""

import base64
import io
from dataclasses import replace

import matplotlib.image

from lab.report.plots import data_uri, trend_png
from lab.report.trends import case_trend, plotted_cases
from lab.report.verdicts import classify_run

X86 = "debian-6.1/x86_64/none"
HASH = "debian-6.1/ppc64-hash/none"


def test_a_trend_has_a_point_per_run_even_where_the_case_did_not_run(history_run):
    runs = [
        history_run("20261101-010000", {X86: [("fault", "fault/eof", "p")]}),
        history_run("20261102-010000", {X86: [("boot", "boot", "p")]}),
        history_run(
            "20261103-010000",
            {X86: [("fault", "fault/eof", "pf")], HASH: [("fault", "fault/eof", "f")]},
        ),
        history_run("20261104-010000", {X86: [("fault", "fault/eof", "s")]}),
    ]
    trend = case_trend(runs, X86, "fault", "fault/eof")
    assert (trend.cell, trend.test) == (X86, "fault/fault/eof")
    assert [
        (p.run_id, p.state, p.duration_s, p.passed, p.failed, p.pass_rate) for p in trend.points
    ] == [
        ("20261101-010000", "pass", 0.5, 1, 0, 1.0),
        ("20261102-010000", None, 0.0, 0, 0, None),
        ("20261103-010000", "fail", 1.0, 1, 1, 0.5),  # the other cell's failure is not its
        ("20261104-010000", "skip", 0.5, 0, 0, None),
    ]
    assert trend.runs_passed == (1, 2)


def with_durations(run, durations: dict[str, float]):
    return replace(
        run, results=tuple(replace(r, duration_s=durations.get(r.case, 0.0)) for r in run.results)
    )


def test_failures_are_plotted_first_then_the_slowest_other_cases(history_run):
    before = history_run("20261101-010000", {X86: [("fault", "fault/eof", "p")]})
    run = with_durations(
        history_run(
            "20261102-010000",
            {
                X86: [
                    ("boot", "boot", "p"),
                    ("fault", "fault/eof", "f"),
                    ("fault", "fault/race", "p"),
                    ("fault", "fault/edges", "s"),
                    ("nopfn", "nopfn/insert", "f"),
                    ("smoke", "smoke/kernel", "p"),
                    ("smoke", "smoke/zero", "p"),
                ]
            },
        ),
        {
            "boot": 1.5,
            "fault/race": 9.0,
            "fault/edges": 3.0,
            "smoke/kernel": 0.1,
            "nopfn/insert": 0.2,
        },
    )
    verdicts = classify_run(run, {X86: [before]})
    chosen = plotted_cases(verdicts, slowest=3)
    assert [(c.verdict.test, c.why) for c in chosen] == [
        ("fault/fault/eof", "regression"),
        ("nopfn/nopfn/insert", "failed"),
        ("fault/fault/race", "slowest"),
        ("fault/fault/edges", "slowest"),
        ("boot/boot", "slowest"),
    ]
    assert [c.verdict.test for c in plotted_cases(verdicts, slowest=1, limit=2)] == [
        "fault/fault/eof",
        "nopfn/nopfn/insert",
    ]
    assert "smoke/smoke/zero" not in [c.verdict.test for c in plotted_cases(verdicts, 10)]


def test_a_plot_is_a_small_png_with_the_pass_and_fail_colours(history_run):
    runs = [
        history_run(f"202611{day:02}-010000", {X86: [("fault", "fault/eof", s)]})
        for day, s in enumerate("pppfpf", 1)
    ]
    png = trend_png(case_trend(runs, X86, "fault", "fault/eof"))
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert 2_000 < len(png) < 40_000
    image = matplotlib.image.imread(io.BytesIO(png), format="png")
    assert image.shape[:2] == (136, 460)  # 6.4 x 1.9 in at 72 dpi, rounded down
    pixels = {tuple(round(c * 255) for c in px[:3]) for px in image.reshape(-1, 4)}
    assert (0xA5, 0xD6, 0xA7) in pixels and (0xEF, 0x53, 0x50) in pixels
    uri = data_uri(png)
    assert uri.startswith("data:image/png;base64,")
    assert base64.b64decode(uri.split(",", 1)[1]) == png


def test_a_ktap_case_without_a_time_of_its_own_shows_its_programs(history_run):
    runs = [
        with_durations(
            history_run(
                f"202611{day:02}-010000",
                {X86: [("nopfn", "nopfn/data_threads", s), ("nopfn", "nopfn/kernel", "p")]},
            ),
            {"nopfn/kernel": seconds},
        )
        for day, s, seconds in ((1, "p", 9.5), (2, "f", 12.0))
    ]
    trend = case_trend(runs, X86, "nopfn", "nopfn/data_threads")
    assert trend.timed == "program"
    assert [(p.state, p.duration_s) for p in trend.points] == [("pass", 9.5), ("fail", 12.0)]
    timed = case_trend(
        [with_durations(r, {"nopfn/data_threads": 1.0}) for r in runs],
        X86,
        "nopfn",
        "nopfn/data_threads",
    )
    assert timed.timed == "case" and [p.duration_s for p in timed.points] == [1.0, 1.0]
