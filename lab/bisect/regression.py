"""A regression of the history as a bisect: its cell, its last good and first bad kernels.

The failing run's cell gives the arch variant, pressure, seed and duration; the history's
classification (lab.history.classify) gives the last good run. Two kernels can be bisected
when they are two commits of one git tree (their builds' source commits), or one source
without and with a patch series (the series is bisected).
"""

import re
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path

from lab.bisect.policy import Signature
from lab.errors import UsageError
from lab.history.classify import classify, describe, outcome_of
from lab.history.model import CaseRun, KernelIdentity
from lab.history.store import HistoryStore
from lab.kernel.build import KernelBuild, load_build
from lab.kernel.config import fragments_for
from lab.kernel.series import load_series
from lab.results.oracle import find_problems, load_allowlist, parse_kernel_log


@dataclass(frozen=True)
class Regression:
    """What `lab bisect --from-regression` bisects."""

    test: str
    cell: str
    variant: str
    pressure: str
    seed: int
    duration_s: int
    good_run: str
    bad_run: str
    titles: tuple[str, ...] = ()
    flavour: str = "tiny"
    fragments: tuple[Path, ...] = ()
    tree: str = ""  # two commits of a git tree ...
    good: str = ""
    bad: str = ""
    source: str = ""  # ... or a series on a source
    series: str = ""


def find_regression(db: HistoryStore, run_id: str, case: str, cell: str | None) -> Regression:
    """The regression of `case` in run `run_id` (in `cell`, or its only failing cell)."""
    if not db.has_run(run_id):
        raise UsageError(f"run {run_id!r} is not in the history {db.path}")
    failing: dict[str, list[CaseRun]] = {}
    for key, group in groupby(db.case_history(case, cell=cell), key=lambda r: r.cell.key):
        runs = list(group)
        ids = [r.run.run_id for r in runs]
        if run_id in ids and runs[ids.index(run_id)].state == "fail":
            failing[key] = runs[: ids.index(run_id) + 1]
    where = f" in cell {cell}" if cell else ""
    if not failing:
        raise UsageError(f"{case} did not fail in run {run_id}{where}")
    if len(failing) > 1:
        raise UsageError(
            f"{case} failed in run {run_id} in {len(failing)} cells: "
            f"{', '.join(failing)}; choose one with --cell"
        )
    key, runs = next(iter(failing.items()))
    verdict = classify([outcome_of(r) for r in runs])
    if verdict.kind != "regression" or verdict.last_good is None:
        raise UsageError(
            f"{case} in {key}: {describe(verdict)}; only a regression (a failure "
            "after passes) has a last good kernel to bisect from: give the range "
            "with --tree/--good/--bad or --source/--series"
        )
    newest = runs[-1]
    build = cached_build(verdict.newest.kernel)
    return Regression(
        test=newest.attempts[0].test,
        cell=key,
        variant=newest.cell.variant,
        pressure=newest.cell.pressure,
        seed=newest.cell.seed,
        duration_s=newest.cell.duration_s,
        good_run=verdict.last_good.run_id,
        bad_run=run_id,
        titles=failure_titles(newest),
        flavour=build.metadata.get("flavour", "tiny") if build else "tiny",
        fragments=user_fragments(build) if build else (),
        **kernel_range(verdict.last_good.kernel, verdict.newest.kernel),
    )


def cached_build(kernel: KernelIdentity) -> KernelBuild | None:
    """The kernel's build, while the build cache still has it."""
    try:
        return load_build(kernel.build_id) if kernel.build_id else None
    except UsageError:
        return None


def user_fragments(build: KernelBuild) -> tuple[Path, ...]:
    """The config fragments a build was asked for beyond the lab's own."""
    own = set(fragments_for(build.arch))
    return tuple(Path(f) for f in build.metadata.get("fragments", []) if Path(f) not in own)


def failure_titles(run: CaseRun) -> tuple[str, ...]:
    """For a kernel-log case, the titles of the reports of its failing attempt."""
    failed = next(a for a in run.attempts if a.state == "fail")
    if not Signature(failed.test).kernel_case:
        return ()
    problems = find_problems(parse_kernel_log(failed.details), load_allowlist())
    return tuple(dict.fromkeys(p.title for p in problems))


def kernel_range(good: KernelIdentity, bad: KernelIdentity) -> dict[str, str]:
    """The Regression fields that say what to bisect between the two kernels."""
    both = f"last good kernel {good.label()}, failing kernel {bad.label()}"
    if good == bad:
        raise UsageError(
            f"the kernel did not change ({bad.label()}): the regression is not the kernel's"
        )
    if good.source.startswith("git:") and bad.source.startswith("git:"):
        good_tree, bad_tree = good.source[4:].partition("@")[0], bad.source[4:].partition("@")[0]
        if good_tree != bad_tree or good.series or bad.series:
            raise UsageError(
                f"cannot bisect between {both}: they are not two commits of one "
                "git tree without a series"
            )
        return {"tree": bad_tree, "good": source_commit(good), "bad": source_commit(bad)}
    if good.source == bad.source and not good.series and bad.series:
        series = Path(bad.series)
        if not series.exists():
            raise UsageError(f"the series of the failing kernel, {series}, is gone")
        if bad.patches_hash and load_series(series).digest != bad.patches_hash:
            raise UsageError(
                f"the series {series} changed since the failing run: its patches "
                "are not those that failed"
            )
        return {"source": bad.source, "series": str(series)}
    raise UsageError(
        f"cannot bisect between {both}: give two commits of one git tree (--tree) "
        "or a source and a series added to it (--source/--series)"
    )


def source_commit(kernel: KernelIdentity) -> str:
    """The commit a git-source kernel was built from: its build's metadata, else a full
    commit id in its source spec."""
    build = cached_build(kernel)
    if build is not None and build.metadata.get("source_commit"):
        return build.metadata["source_commit"]
    rev = kernel.source.partition("@")[2]
    if re.fullmatch(r"[0-9a-f]{40}", rev):
        return rev
    raise UsageError(
        f"the build {kernel.build_id or '?'} of {kernel.source} is no longer in the "
        "build cache, and its source names no commit id: give the range with "
        "--tree/--good/--bad"
    )
