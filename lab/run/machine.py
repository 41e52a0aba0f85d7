"""The one place a kernel build, the suites and the guest options become a machine to boot:
its initramfs, its MachineSpec and the pressure profile it runs under. `lab run`, `lab boot`,
`lab coverage`, `lab bench`, `lab doctor`'s KVM probe and the pytest plugin all boot
through it."""

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from lab.arch.accel import choose_accel
from lab.image.initramfs import Image, build_initramfs
from lab.kernel.build import KernelBuild
from lab.suites.catalogue import Suite
from lab.suites.profiles import PressureProfile, get_profile
from lab.vm.ports import free_port
from lab.vm.qemu import MachineSpec


@dataclass(frozen=True)
class GuestOptions:
    """How a lab guest boots, as the command line (or pytest) says."""

    accel: str = "auto"  # auto: KVM only after `lab doctor --probe-kvm` showed it works
    mmu: str = ""  # ppc64: radix (default) or hash
    memory_mb: int = 1024  # a pressure profile sets its own
    pressure: str = "none"  # a profile of testsuites/pressure/profiles.toml
    ssh: bool = False  # an SSH server on a free port of 127.0.0.1 (x86_64)
    cpus: int = 2


@dataclass(frozen=True)
class Machine:
    """A guest ready to boot: what boots, from which image, under which profile."""

    spec: MachineSpec
    image: Image
    profile: PressureProfile
    timeout_factor: float = 1.0  # its kernel's flavour: programs' timeouts scale by it


def lab_machine(build: KernelBuild, suites: Sequence[Suite], options: GuestOptions) -> Machine:
    """The initramfs with the suites' programs for this kernel, and the boot the options and
    the pressure profile ask for (the profile's RAM and swap disk, when it applies any), with
    the boot options the kernel's flavour needs."""
    arch = build.arch
    profile = get_profile(options.pressure)
    image = build_initramfs(arch, list(suites), kernel=build, ssh=options.ssh)
    spec = MachineSpec(
        arch,
        build.boot_image,
        image.path,
        memory_mb=options.memory_mb,
        cpus=options.cpus,
        accel=choose_accel(arch, options.accel),
        mmu=options.mmu,
        cmdline_extra=build.cmdline,
        boot_timeout_s=arch.boot_timeout_s * build.timeout_factor,
        ssh_port=free_port() if options.ssh else 0,
    )
    if profile.applies_pressure:
        spec = dataclasses.replace(
            spec, memory_mb=profile.memory_mb, swap_disk_mb=profile.swap_disk_mb
        )
    return Machine(spec, image, profile, build.timeout_factor)
