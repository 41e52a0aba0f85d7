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
    image = build_initramfs(arch, [smoke], kernel.modules_dir)
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
