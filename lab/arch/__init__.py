"""Architecture profiles: one small data module per architecture."""

from lab.arch.ppc64 import PPC64
from lab.arch.profile import ArchProfile
from lab.arch.x86_64 import X86_64
from lab.errors import UsageError

ARCHES: dict[str, ArchProfile] = {p.name: p for p in (X86_64, PPC64)}
# Machines (`uname -m`) that look like a lab arch but cannot run its programs, and why.
NEAR_MISSES = {
    "ppc64le": "little-endian POWER (ppc64le): the lab's ppc64 programs are "
    "big-endian; run a big-endian kernel and userspace there"
}


def get_arch(name: str) -> ArchProfile:
    """Return the profile named `name`, or raise UsageError listing the known ones."""
    try:
        return ARCHES[name]
    except KeyError:
        raise UsageError(f"unknown arch {name!r}; known: {', '.join(ARCHES)}") from None


def arch_of_machine(machine: str) -> ArchProfile | None:
    """The arch whose programs run on a machine with this `uname -m`, if any."""
    return next((a for a in ARCHES.values() if a.uname_machine == machine), None)


def parse_arches(spec: str) -> list[ArchProfile]:
    """Parse a comma-separated arch list such as 'x86_64,ppc64'."""
    return [get_arch(name.strip()) for name in spec.split(",") if name.strip()]
