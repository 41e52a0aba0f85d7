"""A suite under a pressure profile in a real guest: the pressure is applied and proven."""

from pathlib import Path

import pytest

from lab.run.lab_guest import LabGuest, assert_program_passed
from lab.run.machine import GuestOptions
from lab.suites.catalogue import all_suites
from lab.suites.profiles import get_profile

pytestmark = pytest.mark.integration


def test_smoke_under_light_pressure_swaps_and_passes(kernel, arch, knobs, tmp_path: Path):
    profile = get_profile("light")
    smoke = all_suites()["smoke"]
    guest = LabGuest.of(kernel, [smoke], tmp_path, knobs, GuestOptions(pressure="light"))
    spec = guest.spec
    assert (spec.memory_mb, spec.swap_disk_mb) == (profile.memory_mb, profile.swap_disk_mb)
    try:
        swaps = guest.run(["@cat", "/proc/swaps"], timeout=30).stdout.decode()
        assert "/dev/zram0" in swaps and guest.guest.devices["swap"] in swaps
        outcome = guest.run_program(smoke.programs[0])
    finally:
        guest.close()
    assert_program_passed(outcome)
    assert outcome.pressure is not None and outcome.pressure.missing == []
    assert outcome.pressure.delta["pswpout"] > 0


def test_fault_suite_under_injected_allocation_failures(kernel, arch, knobs, tmp_path: Path):
    """fail_page_alloc fails the suite's page-fault allocations; faults retry them and the
    data checks see nothing, and no syscall of the suite fails because of it."""
    fault = all_suites()["fault"]
    guest = LabGuest.of(kernel, [fault], tmp_path, knobs, GuestOptions(pressure="inject"))
    try:
        outcome = guest.run_program(fault.programs[0])
    finally:
        guest.close()
    assert_program_passed(outcome)
    assert outcome.pressure is not None
    assert outcome.pressure.delta["fail_page_alloc"] > 50, outcome.pressure.summary()
