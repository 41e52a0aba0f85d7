"""`lab doctor`: which host tools are there, which are missing (and their package), KVM."""

import dataclasses
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from lab import paths, proc
from lab.arch import accel
from lab.arch.x86_64 import X86_64
from lab.kernel.build import BuildRequest, build_kernel
from lab.kernel.source import named_sources
from lab.kernel.toolchain import PROVIDERS
from lab.run.machine import GuestOptions, lab_machine
from lab.vm.guest import Guest
from lab.vm.qemu import MachineSpec


@dataclass(frozen=True)
class ToolStatus:
    """One host program: found or not, its version, the package that provides it."""

    program: str
    path: str | None
    version: str
    package: str


# How each program tells its version, where it is not --version.
VERSION_FLAGS = {"mkfs.ext4": "-V", "busybox": "--help", "dropbearkey": "-h"}


def check_tools() -> list[ToolStatus]:
    """Look up every program the lab runs."""
    statuses = []
    for program, package in PROVIDERS.items():
        path = shutil.which(program)
        version = ""
        if path:
            flag = VERSION_FLAGS.get(program, "--version")
            out = proc.run([path, flag], check=False).stdout.strip().splitlines()
            version = out[0] if out else ""
        statuses.append(ToolStatus(program, path, version, package))
    return statuses


def missing_sources() -> list[str]:
    """Named kernel sources whose tarball is not installed, with their package."""
    return [
        f"{name}: {entry['tarball']} (package {entry.get('package', '?')})"
        for name, entry in named_sources().items()
        if not Path(entry["tarball"]).exists()
    ]


def probe_kvm(spec: MachineSpec, timeout_s: float = 30.0) -> tuple[bool, str]:
    """Boot a guest under KVM; KVM works only if the agent answers in time."""
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return False, "/dev/kvm is missing or not accessible"
    spec = dataclasses.replace(spec, boot_timeout_s=timeout_s)
    start = time.monotonic()
    try:
        with Guest(spec, paths.cache_dir("kvm-probe"), name="kvm-probe"):
            return True, f"KVM guest reached its agent in {time.monotonic() - start:.1f}s"
    except Exception as e:  # any failure at all means: do not use KVM
        lines = [line for line in str(e).splitlines() if line.strip()] or ["?"]
        last = f" (last console line: {lines[-1].strip()})" if len(lines) > 1 else ""
        return False, f"KVM probe boot failed: {lines[0]}{last}"


def report(probe_kvm: bool = False) -> int:
    """Print what is there and what is missing; exit status 1 if something is missing."""
    tools = check_tools()
    missing = [t for t in tools if not t.path]
    for t in tools:
        state = t.version or t.path if t.path else f"MISSING: install {t.package}"
        print(f"{t.program:28} {state}")
    absent = missing_sources()
    for line in absent:
        print(f"kernel source MISSING: {line}")
    kvm_node = os.access("/dev/kvm", os.R_OK | os.W_OK)
    print(f"/dev/kvm: {'present' if kvm_node else 'absent'}")
    if probe_kvm:
        works, detail = run_kvm_probe()
        accel.record_probe(works, detail)
    probe = accel.recorded_probe()
    if probe:
        verdict = "KVM works" if probe["kvm_works"] else "KVM does not work, TCG is used"
        print(f"KVM probe: {verdict} ({probe['detail']})")
    else:
        print("KVM probe: not run on this host (lab doctor --probe-kvm); TCG is used")
    return 1 if missing or absent else 0


def run_kvm_probe() -> tuple[bool, str]:
    """Build (or reuse) the default x86_64 kernel and image, then boot them under KVM."""
    build = build_kernel(BuildRequest(arch=X86_64))
    return probe_kvm(lab_machine(build, [], GuestOptions(accel="kvm", memory_mb=256, cpus=1)).spec)
