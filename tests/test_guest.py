"""Real guests on every selected arch: the agent, the oracle on LKDTM, crashes and hangs."""

import dataclasses
import os
import time

import pytest

from lab.errors import BootError, InfraError
from lab.image.initramfs import build_initramfs
from lab.vm.guest import Guest, GuestCrashed
from lab.vm.qemu import MachineSpec

pytestmark = pytest.mark.integration
LKDTM = "/sys/kernel/debug/provoke-crash/DIRECT"


def test_guest_reports_release_and_page_size(guest, kernel, arch):
    hello = guest.guest.boot.hello
    assert hello.release == kernel.release
    assert hello.page_size == arch.page_size
    assert guest.kernel_problems() == []  # the boot itself was clean


def test_scratch_ext4_disk_is_mounted(guest):
    mounts = guest.run(["@cat", "/proc/mounts"], timeout=30).stdout.decode()
    assert "/dev/vda /mnt/ext4 ext4 rw" in mounts


def test_command_status_and_output(guest):
    missing = guest.run(["/lab/bin/no-such-program"], timeout=30)
    assert (missing.kind, missing.value) == ("error", 2)
    cat = guest.run(["@cat", "/proc/sys/kernel/osrelease"], timeout=30)
    assert cat.ok and cat.stdout.decode().strip() == guest.guest.boot.hello.release


def test_lkdtm_warning_is_reported_with_symbols(guest):
    result = guest.run(["@write", LKDTM, "WARNING"], timeout=60)
    assert result.ok
    problems = guest.kernel_problems()
    assert [p.kind for p in problems] == ["WARNING"]
    assert problems[0].title == "WARNING in lkdtm_WARNING"
    assert problems[0].has_symbols


def test_lkdtm_bug_is_reported_with_symbols_and_kills_only_the_writer(guest):
    result = guest.run(["@write", LKDTM, "BUG"], timeout=60)
    assert not result.ok  # the writing process died in the oops
    problems = guest.kernel_problems()
    assert problems and problems[0].kind == "BUG"
    assert problems[0].title == "kernel BUG in lkdtm_BUG"
    assert problems[0].has_symbols
    assert guest.run(["@cat", "/proc/version"], timeout=30).ok  # the agent survived


def test_panic_is_a_guest_crash_and_the_next_use_boots_again(guest):
    boots = guest.boots
    pid = guest.guest.qemu.child.pid
    with pytest.raises(GuestCrashed, match="kernel panic"):
        guest.run(["@write", LKDTM, "PANIC"], timeout=60)
    guest.close()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # QEMU is gone
    assert guest.run(["@cat", "/proc/version"], timeout=30).ok
    assert guest.boots == boots + 1


def test_qemu_dying_is_an_infra_error(guest):
    qemu = guest.guest.qemu
    qemu.child.kill(9)
    deadline = time.monotonic() + 10
    while qemu.alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    with pytest.raises(InfraError, match="QEMU died"):
        guest.run(["@cat", "/proc/version"], timeout=30)
    guest.close()


def test_boot_failure_names_the_console_log(kernel, arch, tmp_path):
    image = build_initramfs(arch, [], kernel=kernel)
    spec = MachineSpec(
        arch, kernel.boot_image, image.path, memory_mb=256, cmdline_extra=("rdinit=/no-such-init",)
    )
    spec = dataclasses.replace(spec, arch=dataclasses.replace(arch, boot_timeout_s=60))
    with pytest.raises(BootError) as err, Guest(spec, tmp_path, name="broken"):
        pass
    assert f"console log: {tmp_path / 'broken-console.log'}" in str(err.value)
    titles = [title for title, _ in err.value.kernel_reports]
    # No init in the initramfs: the kernel falls back to a root disk it cannot mount.
    assert titles and titles[0].startswith("kernel panic: VFS: Unable to mount root fs")
    assert "Kernel panic" in (tmp_path / "broken-console.log").read_text(errors="replace")
