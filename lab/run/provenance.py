"""The tools a run used, beside the lab itself: each arch's QEMU and compiler, by the
versions they print. Recorded in run.json, the JUnit properties and the history."""

from functools import cache

from lab import proc
from lab.arch import ArchProfile
from lab.kernel.toolchain import toolchain
from lab.version import lab_identity


@cache
def program_version(program: str) -> str:
    """The first line a program prints for --version ('' when it cannot run)."""
    done = proc.run([program, "--version"], check=False)
    lines = done.stdout.strip().splitlines() if done.returncode == 0 else []
    return lines[0].strip() if lines else ""


def arch_tools(arch: ArchProfile) -> str:
    """'QEMU emulator version 7.2.15 (Debian ...); x86_64-linux-gnu-gcc (Debian 12.2.0) ...'."""
    return "; ".join(v for v in (program_version(arch.qemu_binary), toolchain(arch).gcc) if v)


def provenance(arches: list[ArchProfile]) -> dict[str, object]:
    """The lab and each arch's tools."""
    return {"lab": lab_identity(), "tools": {arch.name: arch_tools(arch) for arch in arches}}
