"""A kernel that hangs is a kernel failure, found as it happens: a soft lockup ends the
command that caused it as soon as its report is on the console, and a kernel that hangs
after starting /init fails its boot case, while a lab that cannot boot a clean kernel
either is infra."""

import dataclasses
import re
from pathlib import Path

import pytest

from lab import paths
from lab.errors import BootError
from lab.kernel.build import BuildRequest, build_kernel
from lab.run.boot import clean_kernel_boots, judge_boot
from lab.run.hangbench import LKDTM
from lab.run.lab_run import boot_failure_records
from lab.run.machine import GuestOptions, lab_machine
from lab.suites.catalogue import all_suites
from lab.vm.guest import Guest, GuestCrashed

pytestmark = pytest.mark.integration
HANG_AT_BOOT = paths.PROJECT_ROOT / "patches" / "examples" / "hang-at-boot"
BOOT_TIMEOUT_S = 30.0  # the hung kernel needs no more to show it never answers


def test_a_soft_lockup_ends_its_command_without_waiting_for_the_timeout(kernel, tmp_path):
    spec = lab_machine(kernel, [], GuestOptions()).spec
    with Guest(spec, tmp_path, name="softlockup") as guest:
        with pytest.raises(GuestCrashed) as crashed:
            guest.run(["@write", LKDTM, "SOFTLOCKUP"], timeout_s=3600)
        evidence = guest.crash_evidence()
    # A CPU spinning with preemption off shows as a soft lockup, or first as an RCU stall
    assert re.search(
        r"kernel reported (BUG: soft lockup|INFO: rcu detected stall)", str(crashed.value)
    ), crashed.value
    assert "Performing direct entry SOFTLOCKUP" in evidence and "Call Trace" in evidence


def boot(spec, workdir: Path, name: str) -> BootError:
    with pytest.raises(BootError) as failed, Guest(spec, workdir, name=name):
        pass
    return failed.value


def test_a_kernel_that_hangs_after_init_fails_its_boot_case(kernel, arch, tmp_path):
    hung = build_kernel(BuildRequest(arch=arch, series=HANG_AT_BOOT))
    spec = lab_machine(hung, [], GuestOptions()).spec
    spec = dataclasses.replace(spec, boot_timeout_s=BOOT_TIMEOUT_S)
    error = boot(spec, tmp_path, "hung")
    assert error.stage == "init"
    verdict = judge_boot(error, lambda: clean_kernel_boots(spec, tmp_path))
    assert verdict.kernel_failed, verdict.reason
    assert "hung after it started /init" in verdict.reason
    programs = list(all_suites()["smoke"].programs)
    boot_case, *rest = boot_failure_records(arch.name, programs, error, verdict)
    assert (boot_case.case, boot_case.state) == ("boot", "fail")
    assert arch.init_marker in boot_case.details  # the console's end shows where it stopped
    assert {r.state for r in rest} == {"infra"}


def test_a_lab_that_cannot_boot_a_clean_kernel_is_infra(kernel, tmp_path):
    broken = tmp_path / "garbage.cpio"
    broken.write_bytes(b"not an initramfs at all\n" * 100)
    spec = dataclasses.replace(lab_machine(kernel, [], GuestOptions()).spec, initrd=broken)
    other = build_kernel(BuildRequest(arch=kernel.arch, series=HANG_AT_BOOT))
    error = boot(dataclasses.replace(spec, kernel=other.boot_image), tmp_path, "broken")
    assert error.stage in ("kernel", "init")  # the kernel printed, then found no /init
    verdict = judge_boot(
        error,
        lambda: clean_kernel_boots(dataclasses.replace(spec, kernel=other.boot_image), tmp_path),
    )
    assert not verdict.kernel_failed
    assert "a clean kernel does not boot with this lab either" in verdict.reason
