"""`lab bench`: the lab's own speed, measured and reported as figures (never asserted).

Measures per arch: a rebuild with nothing changed (must be a cache hit), a rebuild after a
one-line patch change (incremental, in the reused build tree), boot-to-agent time over
several boots, and the smoke suite's run time.
"""

import difflib
import json
import statistics
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from lab.arch import ArchProfile
from lab.kernel.build import BuildRequest, build_kernel
from lab.kernel.gitrepo import git
from lab.kernel.source import resolve_source
from lab.run.machine import GuestOptions, lab_machine
from lab.scratch import scratch_dir
from lab.suites.catalogue import all_suites
from lab.suites.knobs import new_knobs
from lab.vm.guest import Guest

PATCHED_FILE = "mm/msync.c"
ANCHOR = "\tstart = untagged_addr(start);\n"


@dataclass
class ArchBench:
    """Figures for one arch, in seconds."""

    arch: str
    build_id: str = ""
    nothing_changed_s: float = 0.0
    one_line_patch_s: list[float] = field(default_factory=list)
    boot_to_agent_s: list[float] = field(default_factory=list)
    smoke_s: list[float] = field(default_factory=list)


def one_line_series(directory: Path, source: str, marker: int) -> Path:
    """A one-patch quilt series adding one line (carrying `marker`) to mm/msync.c."""
    resolved = resolve_source(source)
    original = git(resolved.repo, "show", f"{resolved.commit}:{PATCHED_FILE}") + "\n"
    changed = original.replace(ANCHOR, f"{ANCHOR}\tbarrier(); /* lab bench {marker} */\n", 1)
    diff = difflib.unified_diff(
        original.splitlines(True),
        changed.splitlines(True),
        f"a/{PATCHED_FILE}",
        f"b/{PATCHED_FILE}",
    )
    series = directory / f"bench-{marker}"
    series.mkdir()
    (series / "0001-bench.patch").write_text("".join(diff))
    (series / "series").write_text("0001-bench.patch\n")
    return series


def timed(fn):
    """Call fn(); return its value and the seconds it took."""
    start = time.monotonic()
    value = fn()
    return value, time.monotonic() - start


def bench_arch(
    arch: ArchProfile, source: str, boots: int, patch_changes: int, guest: GuestOptions
) -> ArchBench:
    """Measure one arch, its guests booted as `guest` says."""
    result = ArchBench(arch.name)
    build = build_kernel(BuildRequest(arch=arch, source=source))
    result.build_id = build.id
    _, result.nothing_changed_s = timed(
        lambda: build_kernel(BuildRequest(arch=arch, source=source))
    )
    with scratch_dir("bench") as tmp:
        # Each marker is new, so each build is a real (incremental) rebuild.
        base = time.time_ns()
        for n in range(patch_changes + 1):
            series = one_line_series(Path(tmp), source, base + n)
            _, seconds = timed(
                lambda s=series: build_kernel(BuildRequest(arch=arch, source=source, series=s))
            )
            if n:  # the first applies the patch; the next ones change its line
                result.one_line_patch_s.append(seconds)
    smoke_suite = all_suites()["smoke"]
    smoke = smoke_suite.programs[0]
    spec = lab_machine(build, [smoke_suite], guest).spec
    with scratch_dir("bench") as tmp:
        for n in range(boots):
            with Guest(spec, Path(tmp), name=f"bench{n}") as guest:
                result.boot_to_agent_s.append(guest.boot.boot_s)
                outcome = guest.run(smoke.argv(arch, new_knobs()), smoke.timeout_s)
                result.smoke_s.append(outcome.elapsed_s)
    return result


def _median(values: list[float]) -> str:
    return f"{statistics.median(values):.2f}s" if values else "-"


def summarize(results: list[ArchBench]) -> str:
    """One line of medians per arch."""
    lines = []
    for r in results:
        med = _median
        lines.append(
            f"{r.arch}: nothing changed {r.nothing_changed_s:.1f}s, one-line patch "
            f"change {med(r.one_line_patch_s)}, boot to agent {med(r.boot_to_agent_s)}"
            f" (n={len(r.boot_to_agent_s)}), smoke {med(r.smoke_s)}"
        )
    return "\n".join(lines)


def write_bench(results: Sequence, path: Path) -> None:
    """Write the figures (dataclasses) as JSON."""
    path.write_text(json.dumps([asdict(r) for r in results], indent=2) + "\n")
