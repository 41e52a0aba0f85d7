"""Choosing the accelerator: TCG unless a probe boot under KVM succeeded on this host.

/dev/kvm can exist while KVM guests hang after the ROM, so its presence proves nothing.
"""

import json
import os
import platform
from pathlib import Path

from lab import paths, proc
from lab.arch import ArchProfile

HOST_MACHINE = platform.machine()


def probe_file() -> Path:
    return paths.cache_root() / "kvm-probe.json"


def host_identity() -> str:
    """What the probe result depends on: host kernel and QEMU version."""
    qemu = proc.run(["qemu-system-x86_64", "--version"], check=False).stdout.splitlines()[:1]
    return f"{platform.release()} {qemu[0] if qemu else '?'}"


def recorded_probe() -> dict | None:
    """The last probe result, if it was made on this host as it is now."""
    try:
        data = json.loads(probe_file().read_text())
    except (OSError, ValueError):
        return None
    return data if data.get("host") == host_identity() else None


def record_probe(works: bool, detail: str) -> None:
    probe_file().write_text(
        json.dumps({"host": host_identity(), "kvm_works": works, "detail": detail}, indent=2) + "\n"
    )


def kvm_usable(arch: ArchProfile) -> bool:
    """KVM only for the host's own arch, with /dev/kvm, and only after a successful probe."""
    if arch.uname_machine != HOST_MACHINE or not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return False
    probe = recorded_probe()
    return bool(probe and probe["kvm_works"])


def choose_accel(arch: ArchProfile, requested: str) -> str:
    """'tcg', 'kvm', or 'auto' (kvm if usable, else tcg)."""
    if requested == "auto":
        return "kvm" if kvm_usable(arch) else "tcg"
    return requested
