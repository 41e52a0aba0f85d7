"""A boot that never reached the agent: the kernel's failure or the lab's?

The kernel's, when it printed something and a clean kernel boots to its agent with the same
lab (the same initramfs, QEMU and options): then the kernel under test hangs or dies while
booting, a finding as real as an oops. The lab's (infra), when QEMU did not start, the
console stayed silent, or the clean kernel does not boot either.
"""

import dataclasses
from collections.abc import Callable
from pathlib import Path

from lab.errors import BootError, InfraError
from lab.kernel.build import BuildRequest, build_kernel
from lab.progress import note
from lab.vm.guest import Guest
from lab.vm.qemu import MachineSpec

# Control boots already made by this process: (arch, accel, mmu, memory, initrd) -> booted.
_CONTROLS: dict[tuple, bool] = {}


@dataclasses.dataclass(frozen=True)
class BootVerdict:
    """Whose failure a failed boot is, and in a line why."""

    kernel_failed: bool
    reason: str


def clean_kernel_boots(spec: MachineSpec, workdir: Path) -> bool:
    """Whether the lab's default clean kernel of the arch (built, or from the cache) boots to
    its agent with the machine of `spec`; a failed boot of the clean kernel itself says
    nothing about the lab, so it is not its own control."""
    key = (spec.arch.name, spec.accel, spec.mmu, spec.memory_mb, spec.initrd)
    if key not in _CONTROLS:
        try:
            clean = build_kernel(BuildRequest(arch=spec.arch))
        except InfraError as e:
            note(f"no clean {spec.arch.name} kernel to compare the boot with: {e.summary}")
            return False
        if clean.boot_image == spec.kernel:
            return False
        note(f"{spec.arch.name}: booting the clean kernel {clean.id} with the same lab")
        try:
            with Guest(dataclasses.replace(spec, kernel=clean.boot_image), workdir, name="control"):
                _CONTROLS[key] = True
        except BootError:
            _CONTROLS[key] = False
    return _CONTROLS[key]


def judge_boot(error: BootError, clean_boots: Callable[[], bool]) -> BootVerdict:
    """The kernel's failure or the lab's (see the module's docstring); `clean_boots` tells
    whether a clean kernel boots with the same lab (asked only when it matters)."""
    if error.stage in ("qemu", "silent"):
        return BootVerdict(False, f"{error.kind}: {error.summary}")
    if not clean_boots():
        return BootVerdict(
            False,
            f"{error.kind}: {error.summary} (a clean kernel does not boot with this lab either)",
        )
    if error.kernel_reports:
        return BootVerdict(True, "; ".join(title for title, _ in error.kernel_reports))
    where = (
        "after it started /init (the agent never answered)"
        if error.stage == "init"
        else "before it started /init"
    )
    return BootVerdict(True, f"the kernel hung {where}; a clean kernel boots")
