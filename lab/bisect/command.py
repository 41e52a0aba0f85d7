"""`lab bisect`: start a bisect (git range, series, or a regression of the history), or
resume one; run it; write and print its report.

Exit status: 0 a confirmed culprit, 1 no culprit (not reproduced, ambiguous, unconfirmed,
a commit that changes nothing built), 3 the bad end could not be built or run, 2 bad input.
"""

import json
import shlex
import time
from dataclasses import dataclass, replace
from itertools import groupby
from pathlib import Path

from lab.arch.variants import ArchVariant, get_variant
from lab.bisect.document import bisect_document
from lab.bisect.driver import run_bisect
from lab.bisect.gitbisect import GitPlan, resolve_commit
from lab.bisect.jobs import RuntimeBench
from lab.bisect.policy import default_repeat
from lab.bisect.regression import Regression, find_regression
from lab.bisect.report import collect, terminal, write_report
from lab.bisect.search import Plan
from lab.bisect.series import SeriesPlan, series_length
from lab.bisect.state import (
    BisectState,
    Kind,
    ResultKind,
    bisect_lock,
    new_id,
    save_state,
)
from lab.bisect.steps import Bench, LabBench
from lab.bisect.target import resolve_target
from lab.errors import UsageError
from lab.exitcodes import ExitStatus
from lab.history.classify import outcome_of
from lab.history.store import HistoryStore
from lab.kernel.build import BuildRequest
from lab.kernel.series import load_series
from lab.progress import note
from lab.run.jobs import Runtime
from lab.suites.catalogue import all_suites
from lab.suites.knobs import new_knobs
from lab.suites.profiles import get_profile
from lab.terminal import console

EXIT_STATUS: dict[ResultKind, ExitStatus] = {
    "confirmed": ExitStatus.OK,
    "unconfirmed": ExitStatus.FAILED,
    "identical": ExitStatus.FAILED,
    "ambiguous": ExitStatus.FAILED,
    "not-reproduced": ExitStatus.FAILED,
    "untestable": ExitStatus.INFRA,
}


@dataclass(frozen=True)
class BisectOptions:
    """How candidates are built and run."""

    arch: str = "x86_64"  # an arch variant
    test: str = ""
    repeat: int = 0  # 0: from the test's flakiness in the history
    pressure: str = "none"
    timeout_s: float = 0.0
    flavour: str = "tiny"
    fragments: tuple[Path, ...] = ()
    jobs: int = 1
    seed: int | None = None
    duration_s: int = 0
    titles: tuple[str, ...] = ()
    history: Path | None = None


def new_state(kind: Kind, options: BisectOptions, good: str, bad: str, **where: str) -> BisectState:
    """A fresh state, its options checked; its repeat count from the options or the
    history."""
    variant = get_variant(options.arch)
    test = resolve_target(options.test, all_suites()).test
    get_profile(options.pressure)
    if options.repeat:
        repeat, why = options.repeat, "--repeat"
    else:
        repeat, why = repeat_from_history(options.history, test, variant, options.pressure)
    if repeat < 1:
        raise UsageError(f"--repeat {repeat}: run each candidate at least once")
    state = BisectState(
        id=new_id(
            {"kind": kind, "test": test, "arch": options.arch, "good": good, "bad": bad, **where}
        ),
        kind=kind,
        arch=variant.name,
        test=test,
        good=good,
        bad=bad,
        repeat=repeat,
        repeat_reason=why,
        titles=list(options.titles),
        flavour=options.flavour,
        fragments=[str(f) for f in options.fragments],
        jobs=options.jobs,
        pressure=options.pressure,
        timeout_s=options.timeout_s,
        seed=new_knobs(options.seed).seed,
        duration_s=options.duration_s,
        created=time.strftime("%Y-%m-%dT%H:%M:%S"),
        **where,
    )
    state.command = command_line(state)
    return state


def repeat_from_history(
    history: Path | None, test: str, variant: ArchVariant, pressure: str
) -> tuple[int, str]:
    """The default repeat count: the most any cell of this arch variant and pressure asks
    for (lab.bisect.policy.default_repeat)."""
    if history is None or not history.exists():
        return 1, "no history"
    with HistoryStore(history) as db:
        runs = [
            r
            for r in db.case_history(test, variants=((variant.arch, variant.mmu),))
            if r.cell.pressure == pressure
        ]
    best = (1, f"no run of {test} on {variant.name} under pressure {pressure} in {history}")
    for key, cell_runs in groupby(runs, key=lambda run: run.cell.key):
        repeat, why = default_repeat([outcome_of(run) for run in cell_runs])
        if repeat >= best[0]:
            best = (repeat, f"{why}, cell {key}")
    return best


def command_line(state: BisectState) -> str:
    """The `lab bisect` command that starts this very bisect again."""
    argv = ["lab", "bisect"]
    if state.kind == "git":
        argv += ["--tree", state.tree, "--good", state.good, "--bad", state.bad]
    else:
        argv += ["--source", state.source, "--series", state.series]
    argv += [
        "--arch",
        state.arch,
        "--test",
        state.test,
        "--repeat",
        str(state.repeat),
        "--seed",
        str(state.seed),
    ]
    if state.pressure != "none":
        argv += ["--pressure", state.pressure]
    if state.timeout_s:
        argv += ["--timeout", f"{state.timeout_s:g}"]
    if state.flavour != "tiny":
        argv += ["--flavour", state.flavour]
    for fragment in state.fragments:
        argv += ["--config", fragment]
    for title in state.titles:
        argv += ["--oops", title]
    return shlex.join(argv)


def git_state(tree: Path, good: str, bad: str, options: BisectOptions) -> BisectState:
    """A bisect of the commits good..bad of a git tree."""
    tree = tree.expanduser().resolve()
    good_sha, bad_sha = resolve_commit(tree, good), resolve_commit(tree, bad)
    if good_sha == bad_sha:
        raise UsageError(f"--good {good} and --bad {bad} are the same commit")
    return new_state("git", options, good_sha, bad_sha, tree=str(tree))


def series_state(source: str, series: Path, options: BisectOptions) -> BisectState:
    """A bisect of a series' patches on a source."""
    loaded = load_series(series)
    count = series_length(loaded)
    if count < 1:
        raise UsageError(f"{series}: the series has no patch to bisect")
    return new_state("series", options, "0", str(count), source=source, series=str(loaded.path))


def regression_state(regression: Regression, options: BisectOptions) -> BisectState:
    """A bisect of a regression found in the history (its cell's arch, pressure, seed)."""
    options = replace(
        options,
        arch=regression.variant,
        test=regression.test,
        pressure=regression.pressure,
        duration_s=regression.duration_s,
        seed=options.seed if options.seed is not None else regression.seed,
        flavour=regression.flavour,
        fragments=regression.fragments,
        titles=options.titles or regression.titles,
    )
    if regression.tree:
        return git_state(Path(regression.tree), regression.good, regression.bad, options)
    return series_state(regression.source, Path(regression.series), options)


def plan_for(state: BisectState) -> Plan:
    """The candidates of a (new or resumed) bisect."""
    base = BuildRequest(
        arch=get_variant(state.arch).profile,
        source=state.source or "",
        flavour=state.flavour,
        fragments=tuple(map(Path, state.fragments)),
        jobs=state.jobs,
    )
    if state.kind == "git":
        return GitPlan(base, Path(state.tree), state.good, state.bad, state.dir / "repo.git")
    return SeriesPlan(base, load_series(Path(state.series)), state.dir / "series")


def bench_for(state: BisectState, runtime: Runtime | None = None) -> Bench:
    """Here, or with a runtime, a candidate's runs at once on its workers."""
    local = LabBench(
        get_variant(state.arch),
        resolve_target(state.test, all_suites()),
        pressure=state.pressure,
        timeout_s=state.timeout_s,
        seed=state.seed,
        duration_s=state.duration_s,
    )
    if runtime is None:
        return local
    return RuntimeBench(local, runtime)


def bisect(state: BisectState, runtime: Runtime | None = None, as_json: bool = False) -> int:
    """Run (or resume) a bisect, write its report and print it (a table, or with `as_json`
    one JSON document); the exit status."""
    with bisect_lock(state):
        save_state(state)
        note(f"bisect {state.id}: {state.dir} (`lab bisect --resume {state.id}` resumes it)")
        plan = plan_for(state)
        result = run_bisect(state, plan, bench_for(state, runtime))
    report = collect(state, plan)
    path = write_report(report)
    if as_json:
        print(json.dumps(bisect_document(report, path), indent=2), flush=True)
    else:
        console().print(terminal(report, path), soft_wrap=True)
    return EXIT_STATUS[result.kind]


def from_history(history: Path, run_id: str, case: str, cell: str | None) -> Regression:
    """The regression of `case` in run `run_id` of the history."""
    if not history.exists():
        raise UsageError(
            f"no history at {history}: `lab history --import` or `lab nightly` writes one"
        )
    with HistoryStore(history) as db:
        return find_regression(db, run_id, case, cell)
