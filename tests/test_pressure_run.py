"""A suite under a pressure profile in a real guest: the pressure is applied and proven."""

from pathlib import Path

import pytest

from lab.image.initramfs import build_initramfs
from lab.pressure import get_profile
from lab.pressure_session import machine_for
from lab.suites import all_suites
from lab.testing import LabGuest, assert_program_passed
from lab.vm.qemu import MachineSpec

pytestmark = pytest.mark.integration


def test_smoke_under_light_pressure_swaps_and_passes(kernel, arch, knobs, tmp_path: Path):
    profile = get_profile("light")
    smoke = all_suites()["smoke"]
    image = build_initramfs(arch, [smoke], kernel=kernel)
    spec = machine_for(profile, MachineSpec(arch, kernel.boot_image, image.path))
    assert (spec.memory_mb, spec.swap_disk_mb) == (profile.memory_mb, profile.swap_disk_mb)
    guest = LabGuest(spec, tmp_path, knobs, profile)
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
    profile = get_profile("inject")
    fault = all_suites()["fault"]
    image = build_initramfs(arch, [fault], kernel=kernel)
    guest = LabGuest(machine_for(profile, MachineSpec(arch, kernel.boot_image, image.path)),
                     tmp_path, knobs, profile)
    try:
        outcome = guest.run_program(fault.programs[0])
    finally:
        guest.close()
    assert_program_passed(outcome)
    assert outcome.pressure is not None
    assert outcome.pressure.delta["fail_page_alloc"] > 50, outcome.pressure.summary()
