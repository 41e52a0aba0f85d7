"""The data that describes one target architecture."""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ArchProfile:
    """How to build, inspect and boot kernels for one architecture."""

    name: str
    kernel_arch: str  # ARCH= for kbuild
    cross_prefix: str  # CROSS_COMPILE=, '' for the host compiler
    boot_image: str  # path of the boot image inside the build tree
    build_targets: tuple[str, ...]
    config_fragment: str  # file name under kernels/configs/
    defconfig: str  # make target of the fuller config flavour
    elf_machine: str  # pyelftools e_machine of vmlinux
    big_endian: bool
    page_size: int
    qemu_binary: str
    qemu_machine: str
    qemu_cpu: str
    console: str  # guest console device
    cmdline: tuple[str, ...] = ()
    qemu_extra: tuple[str, ...] = ()
    memory_align_mb: int = 1  # guest RAM must be a multiple of this
    boot_timeout_s: float = 120.0
    command_timeout_s: float = 600.0
    mmu_options: dict[str, tuple[str, ...]] = field(default_factory=dict)
    tcg_thread: str = "multi"  # QEMU's TCG threading: 'multi' (a host thread per vCPU) or 'single'
    init_marker: str = "Run /init as init process"  # the kernel starting the initramfs
    uname_machine: str = ""  # `uname -m` of a machine that runs this arch's programs
    compiler_package: str = ""  # the Debian package of the compiler
    qemu_package: str = ""  # the Debian package of the QEMU binary
    # Whether the Debian packages of the host (amd64: busybox-static, dropbear-bin,
    # stress-ng) run in this arch's guests: the interactive shell, the SSH server and the
    # stress-ng peer suite need them.
    runs_host_packages: bool = False
    debian_arch: str = ""  # Debian's name of the arch (dpkg --print-architecture)

    @property
    def compiler(self) -> str:
        """The C compiler for kernel and guest programs."""
        return f"{self.cross_prefix}gcc"
