"""`lab bench --bisect N`: the wall time and steps of a whole bisect over N candidates.

The candidates are the demonstration history (lab.bisect.demo) on the cached source: its
16 patches, with filler commits after each for larger N. Each candidate runs once. Kernels
already in the build cache (from an earlier bisect of the same commits) are counted apart,
as they cost no build.
"""

import time
from dataclasses import dataclass

from lab import paths
from lab.bisect.command import BisectOptions, bisect, git_state
from lab.bisect.demo import DEMO_CULPRIT, DEMO_SERIES, DEMO_TEST, make_demo_history
from lab.errors import UsageError
from lab.kernel.series import load_series


@dataclass
class BisectBench:
    """One whole bisect of the demonstration history."""

    arch: str
    candidates: int
    bisect_id: str = ""
    result: str = ""
    found_culprit: bool = False
    steps: int = 0  # candidates tested to narrow the range (bad end and bisect steps)
    confirmation_steps: int = 0
    skipped: int = 0
    builds: int = 0  # kernels built by this bisect
    cached_builds: int = 0  # kernels the build cache already held
    runs: int = 0
    wall_s: float = 0.0


def bench_bisect(arch: str, candidates: int) -> BisectBench:
    """Bisect the demonstration history padded to `candidates` commits on `arch`."""
    patches = len(load_series(DEMO_SERIES).patches)
    if candidates < patches or candidates % patches:
        raise UsageError(f"--bisect {candidates}: a multiple of the demo's {patches} patches")
    demo = make_demo_history(
        paths.cache_dir("bisect-demo") / "linux.git", fillers=candidates // patches - 1
    )
    state = git_state(
        demo.repo, demo.base, demo.tip, BisectOptions(arch=arch, test=DEMO_TEST, repeat=1)
    )
    cached_before = {p.name for p in paths.cache_dir("builds").iterdir()}
    start = time.monotonic()
    bisect(state)
    figures = BisectBench(
        arch, candidates, state.id, state.result.kind, wall_s=time.monotonic() - start
    )
    figures.found_culprit = (
        state.result.kind == "confirmed" and state.result.culprit == demo.patch_commit(DEMO_CULPRIT)
    )
    figures.steps = sum(s.role in ("bad end", "bisect") for s in state.steps)
    figures.confirmation_steps = sum(s.role in ("culprit", "parent") for s in state.steps)
    figures.skipped = sum(s.verdict == "skip" for s in state.steps)
    built = {s.build_id for s in state.steps if s.build_id}
    figures.cached_builds = len(built & cached_before)
    figures.builds = len(built - cached_before) + sum(bool(s.build_error) for s in state.steps)
    figures.runs = sum(len(s.runs) for s in state.steps)
    return figures


def summarize_bisects(results: list[BisectBench]) -> str:
    """One line per bisect."""
    return "\n".join(
        f"{r.arch}: {r.candidates} candidates: {r.result}"
        f"{' (the planted commit)' if r.found_culprit else ' (NOT the planted commit)'} in "
        f"{r.wall_s / 60:.1f} min: {r.steps} steps + {r.confirmation_steps} confirmation, "
        f"{r.skipped} skipped, {r.builds} kernels built ({r.cached_builds} from the cache), "
        f"{r.runs} runs"
        for r in results
    )
