"""ppc64: big-endian pseries with VOF firmware, power9, hvc0 console, 64K pages."""

from lab.arch.profile import ArchProfile

PPC64 = ArchProfile(
    name="ppc64",
    kernel_arch="powerpc",
    cross_prefix="powerpc64-linux-gnu-",
    boot_image="vmlinux",
    build_targets=("vmlinux",),
    config_fragment="ppc64.config",
    defconfig="pseries_defconfig",
    elf_machine="EM_PPC64",
    big_endian=True,
    page_size=65536,
    qemu_binary="qemu-system-ppc64",
    qemu_machine="pseries,x-vof=on",
    qemu_cpu="power9",
    console="hvc0",
    memory_align_mb=256,  # pseries rejects other sizes
    boot_timeout_s=120.0,
    command_timeout_s=900.0,
    # Cell has the hash MMU; radix is the power9 default. Under single-threaded TCG (below)
    # a hash guest hangs in mark_rodata_ro(), whose stop_machine() has the other vCPUs spin
    # while the linear mapping changes; rodata=off skips that boot-time step only.
    mmu_options={"radix": (), "hash": ("disable_radix", "rodata=off")},
    # Multi-threaded TCG (QEMU 7.2) loses tlbie shootdowns between ppc64 vCPUs: a store
    # through a translation that another vCPU's unmap_mapping_range() invalidated lands in
    # the old page and is lost (the nopfn suite sees it with a correct module, under radix and
    # hash alike). One host thread for all vCPUs keeps SMP but makes the shootdown exact.
    tcg_thread="single",
    uname_machine="ppc64",  # big-endian; ppc64le machines run other programs
    compiler_package="gcc-powerpc64-linux-gnu (and libc6-dev-ppc64-cross)",
    qemu_package="qemu-system-ppc",
    # Debian has big-endian ppc64 only as an unofficial port, with no bookworm release: no
    # busybox, dropbear or stress-ng binary for its guests (and the apt mirror does not
    # serve stress-ng's source tarball to build one).
    runs_host_packages=False,
    debian_arch="ppc64",
)
