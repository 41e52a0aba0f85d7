"""A peer build's result and its cache entry: binaries (checked to be static executables
for the arch) plus a manifest, stored atomically."""

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from elftools.elf.elffile import ELFFile

from lab import paths
from lab.arch import ArchProfile
from lab.errors import BuildError

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class PeerBuild:
    """Static binaries by name, and the requested names this source does not have (why)."""

    binaries: dict[str, Path]
    absent: dict[str, str] = field(default_factory=dict)
    build_s: float = 0.0


def entry_dir(builder: str, key: str) -> Path:
    """Where the build with this content hash lives."""
    return paths.cache_dir("peers", builder) / key[:16]


def load(directory: Path) -> PeerBuild | None:
    """A finished cache entry, or None."""
    return read(directory) if (directory / MANIFEST).exists() else None


def read(directory: Path) -> PeerBuild:
    """The cache entry in `directory`."""
    data = json.loads((directory / MANIFEST).read_text())
    return PeerBuild({name: directory / "bin" / name for name in data["binaries"]},
                     data["absent"], data["build_s"])


def check_static(path: Path, arch: ArchProfile) -> None:
    """Refuse a binary the guest cannot run: not for the arch, or dynamically linked."""
    with open(path, "rb") as f:
        elf = ELFFile(f)
        machine, big_endian = elf["e_machine"], not elf.little_endian
        dynamic = any(seg["p_type"] == "PT_INTERP" for seg in elf.iter_segments())
    if (machine, big_endian) != (arch.elf_machine, arch.big_endian) or dynamic:
        raise BuildError(f"{path} is {'a dynamic' if dynamic else 'an'} {machine} "
                         f"{'big' if big_endian else 'little'}-endian executable, not a static "
                         f"{arch.name} one")


def store(arch: ArchProfile, staging: Path, directory: Path, build: PeerBuild,
          inputs: dict) -> PeerBuild:
    """Check and copy the binaries into `staging`, write the manifest, rename it to
    `directory`."""
    for path in build.binaries.values():
        check_static(path, arch)
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "bin").mkdir(parents=True)
    for name, path in build.binaries.items():
        shutil.copy2(path, staging / "bin" / name)
    manifest = {"binaries": sorted(build.binaries), "absent": build.absent,
                "build_s": round(build.build_s, 1), "inputs": inputs}
    (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    try:
        staging.rename(directory)
    except OSError:
        if not (directory / MANIFEST).exists():
            raise
        shutil.rmtree(staging, ignore_errors=True)  # another lab process stored it first
    return read(directory)
