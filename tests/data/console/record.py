"""Re-record the console and /dev/kmsg logs of this folder from the lab's own guests.

Usage: python tests/data/console/record.py ARCH BUILD_ID
Boots the build, provokes LKDTM WARNING, BUG and EXCEPTION (NULL dereference) and
finally PANIC, and writes ARCH-lkdtm.kmsg (raw /dev/kmsg records, before the panic) and
ARCH-lkdtm.console.log (the whole console, panic included).
"""

import contextlib
import shutil
import sys
import tempfile
from pathlib import Path

from lab.arch import get_arch
from lab.image.initramfs import build_initramfs
from lab.kernel.build import load_build
from lab.vm.guest import Guest, GuestCrashed
from lab.vm.qemu import MachineSpec

LKDTM = "/sys/kernel/debug/provoke-crash/DIRECT"


def record(arch_name: str, build_id: str, out: Path) -> None:
    arch, build = get_arch(arch_name), load_build(build_id)
    image = build_initramfs(arch, [], build.modules_dir)
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


if __name__ == "__main__":
    record(sys.argv[1], sys.argv[2], Path(__file__).parent)
