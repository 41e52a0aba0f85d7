"""The host toolchain for an arch: presence, versions, and the package that provides it."""

import shutil
from dataclasses import dataclass
from functools import cache

from lab import proc
from lab.arch import ARCHES, ArchProfile
from lab.errors import UsageError

# Debian package for each host program the lab runs (an arch's compiler and QEMU: its
# profile says).
PROVIDERS = {
    **{arch.compiler: arch.compiler_package for arch in ARCHES.values()},
    **{arch.qemu_binary: arch.qemu_package for arch in ARCHES.values()},
    "ccache": "ccache",
    "make": "make (build-essential)",
    "gcc": "gcc (build-essential)",
    "tar": "tar",
    "xz": "xz-utils",
    "flex": "flex",
    "bison": "bison",
    "bc": "bc",
    "git": "git",
    "patch": "patch",
    "rsync": "rsync",
    "mkfs.ext4": "e2fsprogs",
    "busybox": "busybox-static",
    "stress-ng": "stress-ng",
    "ldd": "libc-bin",
    "dpkg-query": "dpkg",
    "dropbearkey": "dropbear-bin",
}


@dataclass(frozen=True)
class Toolchain:
    """Compiler and linker versions: part of a build's identity."""

    gcc: str
    ld: str

    def as_dict(self) -> dict[str, str]:
        """For metadata.json."""
        return {"gcc": self.gcc, "ld": self.ld}


def require(program: str) -> str:
    """The path of a host program, or a UsageError naming the package that provides it."""
    found = shutil.which(program)
    if not found:
        package = PROVIDERS.get(program, "?")
        raise UsageError(
            f"{program} not found; install the Debian package {package} (or run `make deps`)"
        )
    return found


def toolchain(arch: ArchProfile) -> Toolchain:
    """Versions of the arch's compiler and linker."""
    return _versions(require(arch.compiler), f"{arch.cross_prefix}ld")


@cache
def _versions(gcc: str, ld: str) -> Toolchain:
    return Toolchain(
        gcc=proc.output([gcc, "--version"]).splitlines()[0],
        ld=proc.output([ld, "--version"]).splitlines()[0],
    )
