"""The lab's kernel modules for a remote target's running kernel.

From a lab build (`--target-kernel-build <build id>`: the modules built with it) or from the
user's kernel build directory (the modules are built against it here). The release must be
the target's: a module for another kernel does not load.
"""

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from lab import paths
from lab.arch import ArchProfile
from lab.errors import BuildError, UsageError
from lab.kernel import extmod
from lab.kernel.build import load_build, make_env
from lab.progress import note


@dataclass(frozen=True)
class TargetModules:
    """Module files by name ('faultlab_spu'), or why there are none."""

    files: dict[str, Path] = field(default_factory=dict)
    missing: str = ""  # why a suite that loads a module cannot run


def lab_build_modules(ref: str, arch: ArchProfile, release: str) -> TargetModules:
    """The modules of a lab build, if it is the target's kernel."""
    build = load_build(ref, check=False)  # its modules are what the target needs
    if build.arch.name != arch.name or build.release != release:
        return TargetModules(
            missing=f"lab build {build.id} is {build.arch.name} "
            f"{build.release}; the target runs {arch.name} {release}"
        )
    extra = build.modules_dir / "lib" / "modules" / release / extmod.INSTALL_DIR
    return TargetModules({ko.stem: ko for ko in sorted(extra.glob("*.ko"))})


def kernel_dir_release(kdir: Path) -> str:
    """The release a kernel build directory was built as."""
    release_file = kdir / "include" / "config" / "kernel.release"
    if not release_file.is_file() or not (kdir / "Module.symvers").is_file():
        raise UsageError(
            f"{kdir} is not a kernel build directory (it needs "
            "include/config/kernel.release and Module.symvers: run make there)"
        )
    return release_file.read_text().strip()


def kernel_dir_modules(kdir: Path, arch: ArchProfile, release: str) -> TargetModules:
    """Build the lab's modules against the user's kernel build directory."""
    built_release = kernel_dir_release(kdir)
    if built_release != release:
        return TargetModules(
            missing=f"{kdir} is release {built_release}; the target runs {release}"
        )
    dirs = extmod.module_dirs()
    key = hashlib.sha256(
        f"{kdir.resolve()}\0{release}\0{arch.name}\0"
        f"{sorted(extmod.sources_digest(dirs).items())}".encode()
    )
    stage_root = paths.cache_dir("remote-modules", key.hexdigest()[:16])
    log = stage_root / "build.log"
    cross = f"CROSS_COMPILE={arch.cross_prefix}" if arch.cross_prefix else "CROSS_COMPILE="
    make = [
        "make",
        "-C",
        str(kdir),
        f"ARCH={arch.kernel_arch}",
        cross,
        f"CC={arch.compiler}",
        f"-j{os.cpu_count() or 1}",
    ]
    note(f"building the lab's modules against {kdir} ({release}), log: {log}")
    log.write_text("")
    try:
        staged = extmod.build_modules(make, make_env(), stage_root, dirs, log)
    except BuildError as e:
        return TargetModules(missing=str(e))
    return TargetModules({ko.stem: ko for stage in staged for ko in sorted(stage.glob("*.ko"))})


def target_modules(ref: str, arch: ArchProfile, release: str) -> TargetModules:
    """The modules for the target from `--target-kernel-build` (a lab build id or directory,
    or a kernel build directory); none given: every module is missing, saying what to give."""
    if not ref:
        return TargetModules(
            missing="the lab's modules need the target kernel's build: give "
            "--target-kernel-build (a lab build id or a kernel build directory)"
        )
    kdir = Path(ref).expanduser()
    if kdir.is_dir() and not (kdir / "metadata.json").exists():
        return kernel_dir_modules(kdir, arch, release)
    return lab_build_modules(ref, arch, release)
