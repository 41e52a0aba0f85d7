"""What every transport offers the suites: commands through the agent protocol, the kernel
log, the paths of the lab's files on the target."""

from typing import Protocol

from lab.errors import InfraError
from lab.suites.layout import TargetPaths
from lab.transport.agent import CommandResult, Hello

# Host-side grace beyond a command's own timeout before the machine running it is declared
# hung (a guest) or unreachable (a remote target).
HANG_GRACE_S = 60.0


class TransportLost(InfraError):
    """The connection to a remote target dropped or was refused: no result of the kernel."""

    kind = "target connection"


class Transport(Protocol):
    """A machine the lab runs commands on through the agent protocol."""

    name: str  # 'console' or 'ssh'
    paths: TargetPaths

    @property
    def hello(self) -> Hello: ...

    def run(self, argv: list[str], timeout_s: float | None = None) -> CommandResult: ...

    def kmsg(self) -> str: ...

    def crash_evidence(self) -> str: ...


def run_required(
    target: Transport, argv: list[str], failure: str, timeout_s: float
) -> CommandResult:
    """Run a command the lab itself needs: if it fails, raise InfraError saying `failure`,
    how the command ended and its stderr."""
    result = target.run(argv, timeout_s=timeout_s)
    if not result.ok:
        raise InfraError(
            f"{failure}: {result.describe()}: {result.stderr.decode(errors='replace').strip()}"
        )
    return result
