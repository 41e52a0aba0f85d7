"""A peer build's result and its cache entry: binaries (checked to be executables for the
arch that the guest can run) and the shared libraries they load, plus a manifest, stored
atomically."""

import json
import shutil
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

from elftools.elf.elffile import ELFFile

from lab import paths
from lab.arch import ArchProfile
from lab.errors import BuildError

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class PeerBuild:
    """Binaries by name, the requested names this source does not have (why), and the
    files dynamic binaries load, by their path in the guest (lib64/ld-linux-x86-64.so.2)."""

    binaries: dict[str, Path]
    absent: dict[str, str] = field(default_factory=dict)
    build_s: float = 0.0
    libraries: dict[str, Path] = field(default_factory=dict)


def entry_dir(builder: str, key: str) -> Path:
    """Where the build with this content hash lives."""
    return paths.cache_dir("peers", builder) / key[:16]


def load(directory: Path) -> PeerBuild | None:
    """A finished cache entry, or None."""
    return read(directory) if (directory / MANIFEST).exists() else None


def read(directory: Path) -> PeerBuild:
    """The cache entry in `directory`."""
    data = json.loads((directory / MANIFEST).read_text())
    return PeerBuild(
        {name: directory / "bin" / name for name in data["binaries"]},
        data["absent"],
        data["build_s"],
        {name: directory / "root" / name for name in data.get("libraries", ())},
    )


def check_binary(path: Path, arch: ArchProfile, libraries: Collection[str] = ()) -> None:
    """Refuse a binary the guest cannot run: not for the arch, or dynamically linked with an
    interpreter that is not among `libraries` (guest paths)."""
    with open(path, "rb") as f:
        elf = ELFFile(f)
        machine, big_endian = elf["e_machine"], not elf.little_endian
        interp = next(
            (seg.get_interp_name() for seg in elf.iter_segments() if seg["p_type"] == "PT_INTERP"),
            "",
        )
    if (machine, big_endian) != (arch.elf_machine, arch.big_endian):
        raise BuildError(
            f"{path} is an {machine} {'big' if big_endian else 'little'}-endian "
            f"file, not one for {arch.name}"
        )
    if interp and interp.lstrip("/") not in libraries:
        raise BuildError(
            f"{path} is dynamically linked, and its interpreter {interp} is not shipped with it"
        )


def store(
    arch: ArchProfile, staging: Path, directory: Path, build: PeerBuild, inputs: dict
) -> PeerBuild:
    """Check and copy the binaries and libraries into `staging`, write the manifest, rename
    it to `directory`."""
    for path in [*build.binaries.values(), *build.libraries.values()]:
        check_binary(path, arch, build.libraries)
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "bin").mkdir(parents=True)
    for name, path in build.binaries.items():
        shutil.copy2(path, staging / "bin" / name)
    for name, path in build.libraries.items():
        (staging / "root" / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, staging / "root" / name)
    manifest = {
        "binaries": sorted(build.binaries),
        "absent": build.absent,
        "build_s": round(build.build_s, 1),
        "libraries": sorted(build.libraries),
        "inputs": inputs,
    }
    (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    try:
        staging.rename(directory)
    except OSError:
        if not (directory / MANIFEST).exists():
            raise
        shutil.rmtree(staging, ignore_errors=True)  # another lab process stored it first
    return read(directory)
