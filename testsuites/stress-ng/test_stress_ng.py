"""stress-ng's memory-mapping stressors on every selected arch: each passes with its
verification, did bogo ops (its metrics row is the proof), and left the kernel log clean.

On an arch without a stress-ng binary (ppc64) every test skips with the builder's reason,
before a guest is booted; a missing host package or library fails them.
"""

from pathlib import Path

import pytest

from lab.peers.registry import build_peer
from lab.results.ktap import Status
from lab.run.lab_guest import assert_program_passed
from lab.suites.catalogue import load_suite

SUITE = load_suite(Path(__file__).parent)


@pytest.fixture(scope="module", autouse=True)
def stress_ng(arch, kernel) -> None:
    """Skip the arch's tests when it has no stress-ng (runs before `guest` boots one)."""
    if reason := build_peer(SUITE, arch, kernel).absent.get("stress-ng"):
        pytest.skip(reason)


@pytest.mark.integration
@pytest.mark.parametrize("program", SUITE.programs, ids=lambda p: p.name)
def test_stressor(guest, program):
    if reason := guest.not_run_reason(program):
        pytest.skip(reason)
    outcome = guest.run_program(program)
    assert_program_passed(outcome)
    (case,) = outcome.ktap.cases
    assert case.status is Status.PASS
    stressor = program.name.removeprefix("stress-ng-")
    assert any(d.startswith("proof: ") and f"] {stressor} " in d for d in case.diagnostics), (
        outcome.failure_report()
    )
