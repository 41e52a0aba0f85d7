"""Inspect a built vmlinux with pyelftools: machine, endianness, kernel release."""

import re
from dataclasses import dataclass
from pathlib import Path

from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection

from lab.arch import ArchProfile
from lab.errors import BuildError


@dataclass(frozen=True)
class KernelIdentity:
    """What the vmlinux itself says it is."""

    machine: str  # e_machine, e.g. EM_X86_64
    big_endian: bool
    release: str  # from linux_banner
    banner: str


def inspect_vmlinux(vmlinux: Path) -> KernelIdentity:
    """Read the ELF header and the linux_banner string of a vmlinux."""
    with open(vmlinux, "rb") as f:
        elf = ELFFile(f)
        banner = _read_symbol_string(elf, "linux_banner")
        release = re.match(r"Linux version (\S+)", banner)
        return KernelIdentity(
            machine=elf["e_machine"],
            big_endian=not elf.little_endian,
            release=release.group(1) if release else "",
            banner=banner.strip(),
        )


def check_identity(identity: KernelIdentity, arch: ArchProfile, vmlinux: Path) -> None:
    """Refuse a vmlinux that is not for the target arch."""
    problems = []
    if identity.machine != arch.elf_machine:
        problems.append(f"machine {identity.machine}, expected {arch.elf_machine}")
    if identity.big_endian != arch.big_endian:
        want = "big" if arch.big_endian else "little"
        problems.append(f"{'big' if identity.big_endian else 'little'}-endian, expected {want}")
    if not identity.release:
        problems.append("no linux_banner with a kernel release")
    if problems:
        raise BuildError(f"{vmlinux} is not an {arch.name} kernel: {'; '.join(problems)}")


def _read_symbol_string(elf: ELFFile, name: str) -> str:
    symtab = elf.get_section_by_name(".symtab")
    if not isinstance(symtab, SymbolTableSection):
        return ""
    symbols = symtab.get_symbol_by_name(name)
    if not symbols:
        return ""
    addr = symbols[0]["st_value"]
    for section in elf.iter_sections():
        start = section["sh_addr"]
        if section["sh_type"] != "SHT_NOBITS" and start <= addr < start + section["sh_size"]:
            data = section.data()[addr - start : addr - start + 512]
            return data.split(b"\0", 1)[0].decode(errors="replace")
    return ""
