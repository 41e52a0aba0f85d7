"""stress-ng's memory-mapping stressors on every selected arch: each passes with its
verification, did bogo ops (its metrics row is the proof), and left the kernel log clean.

When the mirror does not serve stress-ng's source tarball, the tests skip with the message
that says where to put it by hand; every other build problem fails them.
"""

from pathlib import Path

import pytest

from lab.peers.debian import SourceUnavailable, fetch_orig
from lab.peers.stressng import PACKAGE
from lab.results.ktap import Status
from lab.suites import load_suite
from lab.testing import assert_program_passed

SUITE = load_suite(Path(__file__).parent)


@pytest.fixture(scope="module", autouse=True)
def stress_ng_source() -> Path:
    """The verified tarball, fetched before the guest fixture builds the image."""
    try:
        return fetch_orig(PACKAGE)[0]
    except SourceUnavailable as e:
        pytest.skip(f"stress-ng source not available: {e}")


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
    assert any(d.startswith("proof: ") and f"] {stressor} " in d for d in case.diagnostics), \
        outcome.failure_report()
