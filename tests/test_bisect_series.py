"""Bisecting a patch series: truncated series on disk, the search, the demonstration series."""

import re
from pathlib import Path

import pytest

from lab import paths
from lab.arch import get_arch
from lab.bisect.command import BisectOptions, plan_for, series_state
from lab.bisect.driver import run_bisect
from lab.bisect.series import (
    SeriesPlan,
    SeriesSearch,
    candidate_series,
    mail_subject,
    patch_change,
    patch_titles,
    series_length,
)
from lab.kernel.build import BuildRequest
from lab.kernel.series import is_mbox, load_series

EXAMPLES = paths.PROJECT_ROOT / "patches" / "examples"
DEMO = EXAMPLES / "bisect-demo"


def search_for(count: int, first_bad: int, unbuildable: set[int] = frozenset()):
    """Drive a SeriesSearch with an oracle that is a pure function of k."""
    search = SeriesSearch(count)
    tested = []
    while (step := search.next()).__class__.__name__ == "Candidate":
        k = int(step.key)
        tested.append(k)
        search.mark(step.key, "skip" if k in unbuildable else "bad" if k >= first_bad else "good")
    return step, tested


@pytest.mark.parametrize("first_bad", range(1, 17))
def test_every_first_bad_patch_is_found_in_four_steps(first_bad):
    end, tested = search_for(16, first_bad)
    assert end.first_bad == str(first_bad)
    assert len(tested) <= 4
    assert len(set(tested)) == len(tested)


def test_a_skipped_candidate_is_stepped_around_by_its_neighbour():
    end, tested = search_for(16, 11, unbuildable={8})
    assert end.first_bad == "11"
    assert tested == [8, 9, 13, 11, 10]  # after 8, its upper neighbour


def test_search_estimates_the_steps_left():
    search = SeriesSearch(16)
    first = search.next()
    assert (first.key, first.steps_left) == ("8", 3)
    search.mark("8", "good")
    assert search.next().steps_left == 2


def test_only_skipped_candidates_before_the_first_bad_leave_a_list():
    end, tested = search_for(16, 11, unbuildable={9, 10})
    assert end.first_bad is None
    assert end.could_be == ("9", "10", "11")
    assert 8 in tested


def test_one_patch_needs_no_step():
    end, tested = search_for(1, 1)
    assert (end.first_bad, tested) == ("1", [])


def test_contradicting_verdicts_keep_the_lowest_bad():
    search = SeriesSearch(16)
    for k, verdict in (("8", "bad"), ("4", "good"), ("6", "bad"), ("7", "good")):
        search.mark(k, verdict)
    assert search.bounds() == (4, 6)


def test_quilt_candidates_are_truncated_copies(tmp_path):
    series = load_series(DEMO)
    assert candidate_series(series, 0, tmp_path) is None
    folder = candidate_series(series, 3, tmp_path)
    assert folder == tmp_path / "003"
    truncated = load_series(folder)
    assert [p.name for p in truncated.patches] == [p.name for p in series.patches[:3]]
    assert all(
        p.path.read_bytes() == o.path.read_bytes()
        for p, o in zip(truncated.patches, series.patches, strict=False)
    )
    assert not any(p.path.is_symlink() for p in truncated.patches)
    assert candidate_series(series, 3, tmp_path) == folder  # made once
    assert load_series(candidate_series(series, 16, tmp_path)).digest == series.digest


def test_strip_levels_survive_truncation(tmp_path):
    original = tmp_path / "orig"
    original.mkdir()
    for name in ("a.patch", "b.patch"):
        (original / name).write_text(f"{name}\n")
    (original / "series").write_text("a.patch -p0\nb.patch\n")
    folder = candidate_series(load_series(original), 2, tmp_path / "bisect")
    assert (folder / "series").read_text() == "a.patch -p0\nb.patch\n"


def test_mbox_candidates_are_mboxes_of_the_first_mails(tmp_path):
    series = load_series(EXAMPLES / "msync-comments.mbox")
    assert series_length(series) == 2
    one = candidate_series(series, 1, tmp_path)
    assert is_mbox(one)
    assert len(re.findall(r"^From [0-9a-f]{40} ", one.read_text(), re.MULTILINE)) == 1
    assert "add a comment at the syscall entry" in one.read_text()
    assert "comment the flags check" not in one.read_text()
    assert patch_titles(series, tmp_path) == [
        "mm/msync: add a comment at the syscall entry",
        "mm/msync: comment the flags check",
    ]


def test_plan_builds_each_candidate_from_the_same_source(tmp_path):
    base = BuildRequest(
        arch=get_arch("ppc64"),
        source="debian-6.1",
        flavour="full",
        fragments=(Path("/x.config"),),
        jobs=3,
    )
    plan = SeriesPlan(base, load_series(DEMO), tmp_path)
    assert (plan.good, plan.bad, plan.count()) == ("0", "16", 16)
    request = plan.request("11")
    assert (request.source, request.flavour, request.fragments, request.jobs) == (
        "debian-6.1",
        "full",
        (Path("/x.config"),),
        3,
    )
    assert request.series == tmp_path / "011"
    assert plan.request("0").series is None
    assert plan.parent("11") == "10"
    assert plan.label("11").startswith("patches 1-11 (last: 0011-mm-mmap-remap_file_pages")
    assert plan.source_args("11") == ["--source", "debian-6.1", "--series", str(tmp_path / "011")]


def test_a_culprit_patch_names_its_subject_author_and_files():
    change = patch_change(load_series(DEMO).patches[10].path, "0011")
    assert change.title == (
        "mm/mmap: remap_file_pages: map the neighbouring file page (planted bug)"
    )
    assert change.author == "A Developer <dev@example.org>"
    assert change.date == "Sat, 21 Nov 2026 10:11:00 +0000"
    assert change.files == ("mm/mmap.c",)
    assert re.match(r"mm/mmap.c \|\s+2 \+-\n 1 file changed", change.stat)


def test_mail_subject_unfolds_and_drops_the_patch_prefix():
    assert mail_subject("From: x\nSubject: [PATCH 11/16] mm/mmap: a long\n subject\n\n") == (
        "mm/mmap: a long subject"
    )


def test_the_demo_series_plants_one_bug_and_one_build_failure():
    series = load_series(DEMO)
    assert len(series.patches) == 16
    texts = [p.path.read_text() for p in series.patches]
    for text in texts:
        files = re.findall(r"^diff --git a/(\S+) b/", text, re.MULTILINE)
        assert files and all(f.startswith("mm/") for f in files)
    assert "+\t\t\tprot, flags, pgoff ^ 1, &populate, NULL);" in texts[10]
    assert "-\taddr = untagged_addr(addr);\n" in texts[7]
    assert "+\taddr = untagged_addr(addr)\n" in texts[7]
    assert "+\taddr = untagged_addr(addr);\n" in texts[8]
    assert sum("pgoff ^ 1" in t for t in texts) == 1


def test_a_thread_is_bisected_over_the_revision_b4_took(bisect_cache, sim, tmp_path):
    thread = EXAMPLES / "msync-comments-thread.mbox"
    state = series_state(
        "debian-6.1", thread, BisectOptions(test="smoke/remap_file_pages", repeat=1)
    )
    assert (state.good, state.bad, state.series) == ("0", "3", str(thread))  # v2's 3, not 13
    plan = plan_for(state)
    assert plan.titles == [
        "mm/msync: add a comment at the syscall entry",
        "mm/msync: comment the flags check",
        "mm/msync: comment the unlock on the way out",
    ]
    result = run_bisect(state, plan, sim.Bench(sim.series_value, sim.fails_from(3)))
    assert (result.kind, result.culprit) == ("confirmed", "3")
    culprit = plan.change("3")
    assert (culprit.title, culprit.files) == (
        "mm/msync: comment the unlock on the way out",
        ("mm/msync.c",),
    )
    two = plan.request("2").series
    assert load_series(two).thread is None  # a plain mbox of v2's first two patches
    text = two.read_text()
    assert "[PATCH v2 2/3]" in text and "[PATCH v2 3/3]" not in text
    assert text.count("Reviewed-by: Rita Reviewer <rita@example.org>") == 2
