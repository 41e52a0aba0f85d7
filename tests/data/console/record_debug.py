"""Re-record the debug flavour's kernel reports of this folder from the lab's own guests.

Usage: PYTHONPATH=. python tests/data/console/record_debug.py ARCH BUILD_ID [hash|poison]
BUILD_ID is a debug-flavour build (lab build --flavour debug). The guest boots through
lab_machine() (so with the flavour's boot options) from the lab's initramfs plus the module
of provoke/ (built here against the build's object tree), and provokes, one after the other:
the module's lockdep (first: the first KASAN report or oops turns lockdep off), LKDTM
READ_AFTER_FREE, WRITE_AFTER_FREE and READ_BUDDY_AFTER_FREE (KASAN, then the
DEBUG_PAGEALLOC fault), CORRUPT_LIST_ADD and CORRUPT_LIST_DEL (DEBUG_LIST), and the module's
kfence and (x86_64) ptc (page_table_check). With `hash` (ppc64) the guest runs the
hash MMU, where KASAN is off: the buddy use-after-frees then fault on DEBUG_PAGEALLOC alone.
With `poison` (ppc64) the hash guest also boots with debug_pagealloc=off, so LKDTM
WRITE_BUDDY_AFTER_FREE really writes the freed page and page poisoning finds it when LKDTM
allocates the page again.

It writes NAME.kmsg (raw /dev/kmsg records, boot included) and NAME.console.log (the whole
console), NAME being ARCH-debug, ppc64-hash-debug or ppc64-poison-debug.
"""

import dataclasses
import shutil
import sys
import tempfile
from pathlib import Path

from lab.arch import ArchProfile, get_arch
from lab.image import cpio
from lab.kernel import extmod
from lab.kernel.build import KernelBuild, load_build, make_env
from lab.run.machine import GuestOptions, lab_machine
from lab.vm.guest import Guest, GuestCrashed

LKDTM = "/sys/kernel/debug/provoke-crash/DIRECT"
PROVOKE = "/sys/kernel/debug/faultlab_provoke"
MODULE = Path(__file__).parent / "provoke"
GUEST_KO = "lab/extra/faultlab_provoke.ko"


def provoke_module(build: KernelBuild, arch: ArchProfile, work: Path) -> Path:
    """faultlab_provoke.ko built against the build's object tree."""
    cross = f"CROSS_COMPILE={arch.cross_prefix}" if arch.cross_prefix else "CROSS_COMPILE="
    make = [
        "make",
        "-C",
        build.metadata["objtree"],
        f"ARCH={arch.kernel_arch}",
        cross,
        f"CC={arch.compiler}",
    ]
    (stage,) = extmod.build_modules(make, make_env(), work, [MODULE], work / "module.log")
    return stage / "faultlab_provoke.ko"


def initrd_with(image: Path, ko: Path, work: Path) -> Path:
    """The lab's initramfs with a second cpio archive holding the module appended (the
    kernel unpacks concatenated archives)."""
    combined = work / "initrd.cpio"
    with open(combined, "wb") as out:
        out.write(image.read_bytes())
        cpio.write_cpio(out, [cpio.directory("lab/extra"), cpio.file(GUEST_KO, ko.read_bytes())])
    return combined


def steps(arch: ArchProfile, variant: str) -> list[list[str]]:
    if variant == "poison":
        return [["@write", LKDTM, "WRITE_BUDDY_AFTER_FREE"]]
    if variant == "hash":
        lkdtm = ["READ_BUDDY_AFTER_FREE", "WRITE_BUDDY_AFTER_FREE"]
        first, own = [], ["kfence"]
    else:
        lkdtm = [
            "READ_AFTER_FREE",
            "WRITE_AFTER_FREE",
            "READ_BUDDY_AFTER_FREE",
            "CORRUPT_LIST_ADD",
            "CORRUPT_LIST_DEL",
        ]
        # lockdep first: the first KASAN report or oops turns lockdep off for the boot
        first, own = ["lockdep"], ["kfence"] + (["ptc"] if arch.name == "x86_64" else [])
    return (
        [["@write", PROVOKE, o] for o in first]
        + [["@write", LKDTM, name] for name in lkdtm]
        + [["@write", PROVOKE, o] for o in own]
    )


def record(arch_name: str, build_id: str, variant: str, out: Path) -> None:
    arch, build = get_arch(arch_name), load_build(build_id)
    work = Path(tempfile.mkdtemp(prefix="faultlab-record-"))
    machine = lab_machine(build, [], GuestOptions(mmu="hash" if variant else ""))
    ko = provoke_module(build, arch, work)
    spec = dataclasses.replace(machine.spec, initrd=initrd_with(machine.image.path, ko, work))
    if variant == "poison":
        spec = dataclasses.replace(spec, cmdline_extra=(*spec.cmdline_extra, "debug_pagealloc=off"))
    name = f"{arch_name}-{variant}-debug" if variant else f"{arch_name}-debug"
    kmsg = ""
    with Guest(spec, work, name="rec") as guest:
        guest.run(["/lab/bin/labctl", "insmod", f"/{GUEST_KO}"], timeout_s=60)
        for argv in steps(arch, variant):
            try:
                result = guest.run(argv, timeout_s=90)
            except GuestCrashed as e:
                print(f"{argv[-1]}: {e}")
                break
            print(f"{argv[-1]}: {result.describe()}")
        else:
            kmsg = guest.kmsg()
    if kmsg:
        (out / f"{name}.kmsg").write_text(kmsg)
    shutil.copy(work / "rec-console.log", out / f"{name}.console.log")


if __name__ == "__main__":
    record(
        sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else "", Path(__file__).parent
    )
