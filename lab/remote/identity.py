"""Who a remote target is: host name, machine, kernel release, CPU; and which lab arch it is."""

from dataclasses import dataclass

import paramiko

from lab.arch import NEAR_MISSES, ArchProfile, arch_of_machine
from lab.errors import UsageError
from lab.transport.base import TransportLost
from lab.transport.ssh import exec_command
from lab.transport.url import TargetUrl

IDENTITY_COMMAND = (
    "uname -m; uname -r; hostname; "
    "grep -m1 -E '^(model name|cpu)[[:space:]]*:' /proc/cpuinfo || echo"
)


@dataclass(frozen=True)
class TargetIdentity:
    """What the target says about itself."""

    hostname: str
    machine: str
    release: str
    cpu: str = ""

    def label(self) -> str:
        """'cell-blade (ppc64, Cell Broadband Engine, 6.1.0-faultlab)'."""
        parts = [self.machine, self.cpu, self.release]
        return f"{self.hostname} ({', '.join(p for p in parts if p)})"


def parse_identity(text: str) -> TargetIdentity:
    """The output of IDENTITY_COMMAND."""
    lines = [line.strip() for line in text.splitlines()]
    if len(lines) < 3 or not all(lines[:3]):
        raise ValueError(f"expected machine, release and host name, got {text!r}")
    cpu = lines[3].partition(":")[2].strip() if len(lines) > 3 else ""
    return TargetIdentity(lines[2], lines[0], lines[1], cpu)


def read_identity(client: paramiko.SSHClient, url: TargetUrl) -> TargetIdentity:
    """Ask the target (a POSIX shell with uname and hostname)."""
    result = exec_command(client, url, IDENTITY_COMMAND, timeout_s=30)
    try:
        return parse_identity(result.stdout.decode(errors="replace"))
    except ValueError as e:
        raise TransportLost(
            f"{url}: cannot read its identity ({e}; stderr: "
            f"{result.stderr.decode(errors='replace').strip()})"
        ) from e


def target_arch(identity: TargetIdentity, url: TargetUrl) -> ArchProfile:
    """The lab arch whose programs run there: x86_64, or big-endian ppc64."""
    arch = arch_of_machine(identity.machine)
    if arch is not None:
        return arch
    if identity.machine in NEAR_MISSES:
        raise UsageError(f"{url} is {NEAR_MISSES[identity.machine]}")
    raise UsageError(
        f"{url} is a {identity.machine} machine: the lab runs on x86_64 and big-endian ppc64"
    )
