"""Whole bisects on real kernels: the demonstration series (patches/examples/bisect-demo) as
a series and as a git history on Linux 6.1. Patch 11 breaks remap_file_pages (the smoke
suite's remap case fails); patch 8 does not build and must be skipped.

The series form runs on every --arch. To keep a run of the lab's tests short, the git form
runs on the first --lab-arch and the intermittent series (patch 11's bug on three boots out of
four) on the last: `--lab-arch x86_64` and `--lab-arch ppc64` run all three on each.
"""

import re
import subprocess
import sys

import pytest

from lab import paths
from lab.arch import parse_arches
from lab.bisect.command import BisectOptions, bisect, series_state
from lab.bisect.demo import (
    DEMO_CULPRIT,
    DEMO_INTERMITTENT_SERIES,
    DEMO_SERIES,
    DEMO_TEST,
    DEMO_UNBUILDABLE,
    make_demo_history,
)
from lab.bisect.state import load_state
from lab.kernel.build import load_build

pytestmark = pytest.mark.integration


def only_on(arch, which: str, pytestconfig) -> None:
    """Skip unless `arch` is the first or last of --lab-arch."""
    arches = [a.name for a in parse_arches(pytestconfig.getoption("arch"))]
    chosen = arches[0] if which == "first" else arches[-1]
    if arch.name != chosen:
        pytest.skip(f"runs on the {which} --lab-arch only ({chosen})")


def test_a_series_bisect_finds_the_planted_patch(arch):
    state = series_state(
        "debian-6.1", DEMO_SERIES, BisectOptions(arch=arch.name, test=DEMO_TEST, repeat=1)
    )
    assert bisect(state) == 0, state.result
    assert (state.result.kind, state.result.culprit) == ("confirmed", str(DEMO_CULPRIT))
    skipped = [s for s in state.steps if s.verdict == "skip"]
    assert [s.candidate for s in skipped] == [str(DEMO_UNBUILDABLE)]
    assert "mm/mremap.c" in skipped[0].reason
    culprit = next(s for s in state.steps if s.role == "culprit")
    assert culprit.runs and all(r.state == "fail" for r in culprit.runs)
    report = (state.dir / "report.md").read_text()
    assert "map the neighbouring file page (planted bug)" in report
    assert "- files: mm/mmap.c" in report


def test_an_intermittent_bug_is_found_with_repeated_runs(arch, pytestconfig):
    only_on(arch, "last", pytestconfig)
    # A bad kernel passes one run in four: four runs miss it once in 256.
    state = series_state(
        "debian-6.1",
        DEMO_INTERMITTENT_SERIES,
        BisectOptions(arch=arch.name, test=DEMO_TEST, repeat=4),
    )
    assert bisect(state) == 0, state.result
    assert (state.result.kind, state.result.culprit) == ("confirmed", str(DEMO_CULPRIT))
    verdicts = {int(s.candidate): s.verdict for s in state.steps if s.role == "bisect"}
    assert all((v == "bad") == (n >= DEMO_CULPRIT) for n, v in verdicts.items() if v != "skip"), (
        verdicts
    )
    good = [s for s in state.steps if s.verdict == "good"]
    assert good and all(len(s.runs) >= 4 for s in good)
    parent = next(s for s in state.steps if s.role == "parent")
    assert parent.verdict == "good" and len(parent.runs) >= 4


def test_a_git_bisect_finds_the_planted_commit_in_one_build_tree(arch, pytestconfig):
    only_on(arch, "first", pytestconfig)
    demo = make_demo_history(paths.cache_dir("bisect-demo") / "linux.git")
    cached_before = {p.name for p in paths.cache_dir("builds").iterdir()}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "lab",
            "bisect",
            "--tree",
            str(demo.repo),
            "--good",
            demo.base,
            "--bad",
            demo.tip,
            "--arch",
            arch.name,
            "--test",
            DEMO_TEST,
            "--repeat",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=4 * 3600,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    bisect_id = re.search(r"==> bisect (\S+):", result.stderr)[1]
    state = load_state(bisect_id)
    assert state.result.culprit == demo.patch_commit(DEMO_CULPRIT)
    skipped = [s.candidate for s in state.steps if s.verdict == "skip"]
    assert skipped == [demo.patch_commit(DEMO_UNBUILDABLE)]
    # the kernels this bisect built (not those the content-addressed cache already held,
    # e.g. the base commit's, identical to debian-6.1) were all built in one tree
    built = {s.build_id for s in state.steps if s.build_id} - cached_before
    trees = {load_build(b).metadata["build_tree"] for b in built}
    assert len(trees) <= 1, trees
    assert "remap_file_pages: map the neighbouring file page" in result.stdout
