"""The suites catch real fault-path bugs: each series of patches/selftest/ breaks one behaviour.

For each series, a kernel is built with it and the suite named in expectations.toml must fail
exactly where it says (and, for a bug that needs memory pressure to show, pass without
it); the same suite must pass on the clean kernel under the same profile.
"""

import dataclasses
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

from lab import paths
from lab.kernel.build import BuildRequest, build_kernel
from lab.results.ktap import Status
from lab.run.lab_guest import LabGuest, assert_program_passed
from lab.run.machine import GuestOptions
from lab.run.program import ProgramOutcome
from lab.suites.catalogue import all_suites

pytestmark = pytest.mark.integration
SELFTEST = paths.PROJECT_ROOT / "patches" / "selftest"
PROGRAM_TIMEOUT_S = 120


@dataclass(frozen=True)
class Expectation:
    """What one selftest series must do to a suite."""

    series: str
    suite: str
    fails: tuple[str, ...]
    pressure: str = "none"
    quiet_without_pressure: bool = False
    seed: int | None = None  # a randomized suite's seed; default: the run's
    args: tuple[str, ...] = ()  # appended to the program's arguments
    arch: str | None = None  # the one arch to try it on; default: every --lab-arch


def load_expectations() -> list[Expectation]:
    with open(SELFTEST / "expectations.toml", "rb") as f:
        data = tomllib.load(f)
    return [
        Expectation(
            name,
            e["suite"],
            tuple(e["fails"]),
            e.get("pressure", "none"),
            e.get("quiet_without_pressure", False),
            e.get("seed"),
            tuple(e.get("args", ())),
            e.get("arch"),
        )
        for name, e in data.items()
    ]


EXPECTATIONS = load_expectations()


def run_suite(
    kernel, arch, knobs, suite_name: str, pressure: str, workdir: Path, args: tuple[str, ...] = ()
) -> ProgramOutcome:
    """Boot `kernel` under `pressure` and run the suite's (single) program."""
    suite = all_suites()[suite_name]
    guest = LabGuest.of(kernel, [suite], workdir, knobs, GuestOptions(pressure=pressure))
    try:
        (program,) = suite.programs
        # A broken kernel can hang the program (a zeroed lock, a lost wake-up): that is a
        # detection too, and needs no more than a few times the program's normal runtime.
        program = dataclasses.replace(
            program, args=(*program.args, *args), timeout_s=PROGRAM_TIMEOUT_S
        )
        return guest.run_program(program)
    finally:
        guest.close()


def test_every_series_is_described():
    series = sorted(d.name for d in SELFTEST.iterdir() if (d / "series").exists())
    assert series == sorted(e.series for e in EXPECTATIONS)
    assert len(series) >= 4
    assert any(e.quiet_without_pressure for e in EXPECTATIONS)


@pytest.mark.parametrize("expect", EXPECTATIONS, ids=lambda e: e.series)
def test_suite_fails_on_the_broken_kernel(arch, knobs, expect: Expectation, tmp_path: Path):
    if expect.arch and arch.name != expect.arch:
        pytest.skip(f"{expect.series} is tried on {expect.arch} only")
    if expect.seed is not None:
        knobs = dataclasses.replace(knobs, seed=expect.seed)
    kernel = build_kernel(BuildRequest(arch=arch, series=SELFTEST / expect.series))
    outcome = run_suite(
        kernel, arch, knobs, expect.suite, expect.pressure, tmp_path / "broken", expect.args
    )
    report = outcome.failure_report()
    assert not outcome.passed, f"{expect.suite} passed on {expect.series}:\n{report}"
    statuses = {case.name: case.status for case in outcome.ktap.cases}
    if expect.fails == ("*",):  # wrong data, a crash or hang, or the kernel-log oracle
        failed = [n for n, s in statuses.items() if s in (Status.FAIL, Status.CRASHED)]
        assert (
            failed
            or outcome.problems
            or outcome.crash
            or outcome.result is None
            or not outcome.result.ok
        ), report
    else:
        for name in expect.fails:
            assert statuses.get(name) == Status.FAIL, f"{name} did not fail:\n{report}"
    if expect.quiet_without_pressure:
        calm = run_suite(kernel, arch, knobs, expect.suite, "none", tmp_path / "calm")
        assert_program_passed(calm)


@pytest.mark.parametrize("suite, pressure", sorted({(e.suite, e.pressure) for e in EXPECTATIONS}))
def test_suite_passes_on_the_clean_kernel(
    kernel, arch, knobs, suite: str, pressure: str, tmp_path: Path
):
    assert_program_passed(run_suite(kernel, arch, knobs, suite, pressure, tmp_path))
