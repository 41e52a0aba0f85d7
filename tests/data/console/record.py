"""Re-record the console and /dev/kmsg logs of this folder from the lab's own guests.

Usage: python tests/data/console/record.py ARCH BUILD_ID
Boots the build, provokes LKDTM WARNING, BUG and EXCEPTION (NULL dereference) and
finally PANIC, and writes ARCH-lkdtm.kmsg (raw /dev/kmsg records, before the panic) and
ARCH-lkdtm.console.log (the whole console, panic included).

On x86_64 (busybox shell on the console) it also records the smoke suite's KTAP on the
console: x86_64-smoke-interleaved.console.log (the remap_file_pages printk lands in the
middle of the KTAP lines) and x86_64-smoke-panic.console.log (the KTAP output cut after
two results by a sysrq crash, then the panic).
"""

import contextlib
import shutil
import sys
import tempfile
from pathlib import Path

import pexpect

from lab.arch import get_arch
from lab.image.initramfs import build_initramfs
from lab.kernel.build import load_build
from lab.suites.catalogue import all_suites
from lab.vm.guest import Guest, GuestCrashed
from lab.vm.qemu import MachineSpec, QemuProcess, Sockets

LKDTM = "/sys/kernel/debug/provoke-crash/DIRECT"


def record(arch_name: str, build_id: str, out: Path) -> None:
    arch, build = get_arch(arch_name), load_build(build_id)
    image = build_initramfs(arch, [], kernel=build)
    work = Path(tempfile.mkdtemp())
    kmsg = ""
    with Guest(MachineSpec(arch, build.boot_image, image.path), work, name="rec") as guest:
        for crash in ("WARNING", "BUG", "EXCEPTION"):
            guest.run(["@write", LKDTM, crash], timeout_s=60)
        kmsg = guest.kmsg()
        with contextlib.suppress(GuestCrashed):  # the panic ends the boot, as intended
            guest.run(["@write", LKDTM, "PANIC"], timeout_s=60)
    (out / f"{arch_name}-lkdtm.kmsg").write_text(kmsg)
    shutil.copy(work / "rec-console.log", out / f"{arch_name}-lkdtm.console.log")
    if arch_name == "x86_64":
        spec = MachineSpec(
            arch, build.boot_image, build_initramfs(arch, [all_suites()["smoke"]]).path
        )
        smoke = f"/lab/bin/smoke --page-size {arch.page_size}"
        console_session(spec, smoke, out / "x86_64-smoke-interleaved.console.log")
        console_session(
            spec,
            f"{smoke} | head -n 6; echo c > /proc/sysrq-trigger",
            out / "x86_64-smoke-panic.console.log",
        )


def console_session(spec: MachineSpec, command: str, log: Path) -> None:
    """Boot, type `command` at the console shell, keep the console until it goes quiet."""
    with tempfile.TemporaryDirectory(prefix="faultlab-") as sockets:
        qemu = QemuProcess(spec, Sockets(Path(sockets) / "q", Path(sockets) / "a"), log)
        qemu.start(pump=False)
        try:
            qemu.child.expect("faultlab-agent: ready", timeout=60)
            qemu.child.sendline(command)
            qemu.child.expect([pexpect.EOF, pexpect.TIMEOUT], timeout=10)
        finally:
            qemu.stop()


if __name__ == "__main__":
    record(sys.argv[1], sys.argv[2], Path(__file__).parent)
