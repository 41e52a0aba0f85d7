"""x86_64: bzImage on the pc machine, console on ttyS0, 4K pages."""

from lab.arch.profile import ArchProfile

X86_64 = ArchProfile(
    name="x86_64",
    kernel_arch="x86_64",
    cross_prefix="x86_64-linux-gnu-",
    boot_image="arch/x86/boot/bzImage",
    build_targets=("bzImage",),
    config_fragment="x86_64.config",
    defconfig="x86_64_defconfig",
    elf_machine="EM_X86_64",
    big_endian=False,
    page_size=4096,
    qemu_binary="qemu-system-x86_64",
    qemu_machine="pc",
    qemu_cpu="max",
    console="ttyS0",
    boot_timeout_s=120.0,
    uname_machine="x86_64",
    compiler_package="gcc (build-essential)",
    qemu_package="qemu-system-x86",
    runs_host_packages=True,  # the lab's hosts are Debian amd64
    debian_arch="amd64",
)
