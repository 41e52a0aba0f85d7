"""The report's outputs from one assembled report: the HTML page (its sections in order,
regression rows, colours, the oops with its stack trace, self-contained), summary.md and the
JUnit XML of every cell."""

import xml.etree.ElementTree as ET
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import pytest

from lab.report.collect import assemble
from lab.report.colours import REGRESSION_ROW_COLOUR, STATE_COLOURS
from lab.report.html import render_html
from lab.report.markdown import summary_markdown
from lab.report.write import write_report
from lab.results.oracle import find_problems, load_allowlist, parse_kernel_log

X86 = "debian-6.1/x86_64/none"
HASH = "debian-6.1/ppc64-hash/none"
KMSG = Path(__file__).parent / "data" / "console" / "x86_64-lkdtm.kmsg"


class Elements(HTMLParser):
    """Every start tag of a page with its attributes, and its text."""

    def __init__(self, page: str):
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def handle_data(self, data):
        self.text.append(data)

    def having(self, tag: str, css_class: str) -> list[dict[str, str]]:
        return [a for t, a in self.tags if t == tag and css_class in a.get("class", "").split()]


@pytest.fixture
def report(tmp_path, history_run):
    """Night 2 of a two-cell matrix: fault/eof regressed on x86_64 with an oops in its
    details, nonlinear/edges was fixed on ppc64-hash, fault/race is flaky."""
    oops = "\n\n".join(
        p.report for p in find_problems(parse_kernel_log(KMSG.read_text()), load_allowlist())
    )
    nights = [
        history_run(
            f"202611{day:02}-010000",
            {
                X86: [
                    ("boot", "boot", "p"),
                    ("fault", "fault/eof", eof),
                    ("fault", "fault/race", race),
                ],
                HASH: [
                    ("boot", "boot", "p"),
                    ("nonlinear", "nonlinear/edges", edges),
                    ("fault", "fault/race", "p"),
                ],
            },
        )
        for day, (eof, race, edges) in enumerate(
            [("p", "p", "f"), ("p", "f", "f"), ("f", "pf", "p")], 1
        )
    ]
    newest = nights[-1]
    newest = replace(
        newest,
        results=tuple(
            replace(
                r,
                details=oops,
                console_log="x86_64/boot1-console.log",
                kernel_log="x86_64/kernel.log",
            )
            if r.case == "fault/eof"
            else r
            for r in newest.results
        ),
    )
    run_dir = tmp_path / "20261103-010000"
    (run_dir / "x86_64").mkdir(parents=True)
    (run_dir / "x86_64" / "kernel.log").write_text(KMSG.read_text())
    return assemble(newest, {X86: nights[:2], HASH: nights[:2]}, run_dir), run_dir


def test_the_page_has_its_sections_in_order_and_regressions_first(report):
    page = Elements(render_html(report[0]))
    sections = [a["id"] for t, a in page.tags if t == "section"]
    assert sections == [
        "regressions",
        "fixes",
        "flaky",
        "matrix",
        "cross-arch",
        "failures",
        "plots",
    ]
    rows = page.having("tr", "regression")
    assert [(r["data-case"], r["data-cell"]) for r in rows] == [
        ("fault/fault/eof", X86),  # the regressions table
        ("fault/fault/eof", X86),
    ]  # its failure
    assert [r["data-case"] for r in page.having("tr", "fix")] == ["nonlinear/nonlinear/edges"]
    assert [r["data-case"] for r in page.having("tr", "flaky")] == ["fault/fault/race"]
    text = " ".join(" ".join(page.text).split())
    assert "new regressions yes: 1 (exit status 1)" in text
    assert "20261102-010000 (debian-6.1 6.1.192+ b-20261102-010000)" in text
    assert "debian-6.1 6.1.192+ b-20261103-010000" in text  # the kernel since


def test_the_matrix_and_cross_arch_cells_are_coloured_by_state(report):
    page = Elements(render_html(report[0]))
    counts = [a["class"] for a in page.having("td", "count")]
    assert counts == [
        "count state-pass",
        "count state-fail",
        "count not-run",  # x86_64
        "count state-pass",
        "count state-pass",
        "count state-pass",
    ]
    html = render_html(report[0])
    for state, colour in STATE_COLOURS.items():
        assert f"td.state-{state} {{ background: {colour}; }}" in html
    assert f"tr.regression td {{ background: {REGRESSION_ROW_COLOUR}; }}" in html
    divergent = page.having("tr", "divergent")
    assert [r["data-case"] for r in divergent] == ["fault/fault/race"]
    headers = [t for t in page.text if "K pages)" in t]
    assert headers[:3] == ["x86_64 (4K pages)", "ppc64 (64K pages)", "ppc64-hash (64K pages)"]


def test_an_oops_is_shown_with_its_stack_trace_and_the_logs_are_linked(report):
    html = render_html(report[0])
    page = Elements(html)
    titles = [t for t in page.text if t.startswith(("BUG: ", "WARNING: "))]
    assert "BUG: BUG: kernel NULL pointer dereference in lkdtm_EXCEPTION" in titles
    reports = [
        html.index(marker)
        for marker in ('<pre class="kernel-report">', "Call Trace:", "lkdtm_EXCEPTION+0x")
    ]
    assert reports == sorted(reports)
    links = [a["href"] for t, a in page.tags if t == "a"]
    assert links == ["x86_64/kernel.log"]  # the console log is not in the run directory


def test_the_page_is_self_contained(report):
    html = render_html(report[0])
    page = Elements(html)
    sources = [a["src"] for t, a in page.tags if t == "img"]
    assert len(sources) == 5  # the two failed cases, then the 3 slowest of the others
    assert all(s.startswith("data:image/png;base64,") for s in sources)
    assert not [t for t, a in page.tags if t in ("link", "script")]
    assert "http://" not in html and "https://" not in html
    assert all(not a["href"].startswith(("/", "file:")) for t, a in page.tags if t == "a")


def test_summary_markdown(report):
    assert (
        summary_markdown(report[0])
        == """\
# faultlab run 20261103-010000

- date: 2026-11-03 01:00:00
- host: lab1
- duration: 0 s
- matrix: default (nightly)
- new regressions: yes, 1 (exit status 1)

## Regressions (1)

| case | cell | message | last good run | kernels since |
|---|---|---|---|---|
| fault/fault/eof | debian-6.1/x86_64/none | fail message | 20261102-010000 (debian-6.1 6.1.192+ \
b-20261102-010000) | debian-6.1 6.1.192+ b-20261103-010000 |

## Fixes (1)

| case | cell | state | message |
|---|---|---|---|
| nonlinear/nonlinear/edges | debian-6.1/ppc64-hash/none | pass | pass message |

## Flaky (1)

| case | cell | state | message |
|---|---|---|---|
| fault/fault/race | debian-6.1/x86_64/none | fail | fail message |

## Matrix

| cell | fail | infra | skip | pass |
|---|---|---|---|---|
| debian-6.1/x86_64/none | 2 | 0 | 0 | 1 |
| debian-6.1/ppc64-hash/none | 0 | 0 | 0 | 3 |
"""
    )


def test_markdown_cells_stay_on_one_line(report, history_run):
    before = history_run("20261101-010000", {X86: [("fault", "fault/eof", "p")]})
    run = history_run("20261102-010000", {X86: [("fault", "fault/eof", "f")]})
    run = replace(run, results=(replace(run.results[0], message="a | b\nc"),))
    lines = summary_markdown(assemble(run, {X86: [before]}, report[1])).splitlines()
    assert (
        "| fault/fault/eof | debian-6.1/x86_64/none | a \\| b c | 20261101-010000 "
        "(debian-6.1 6.1.192+ b-20261101-010000) | debian-6.1 6.1.192+ b-20261102-010000 |" in lines
    )


def test_the_junit_xml_keeps_the_cells_apart(report):
    files = write_report(report[0], report[1])
    assert {p.name for p in report[1].iterdir()} >= {
        "report.html",
        "summary.md",
        "report-junit.xml",
    }
    root = ET.parse(files.junit).getroot()
    assert [s.get("name") for s in root.iter("testsuite")] == [
        f"{X86}.boot",
        f"{X86}.fault",
        f"{HASH}.boot",
        f"{HASH}.nonlinear",
        f"{HASH}.fault",
    ]
    races = [
        (c.get("classname"), [child.tag for child in c])
        for c in root.iter("testcase")
        if c.get("name") == "fault/race"
    ]
    assert races == [(f"{X86}.fault", []), (f"{X86}.fault", ["failure"]), (f"{HASH}.fault", [])]
    assert (root.get("tests"), root.get("failures")) == ("7", "2")
