"""`ssh://user@host[:port]`: where a remote target is."""

import getpass
import re
from dataclasses import dataclass

from lab.errors import UsageError

TARGET_RE = re.compile(
    r"ssh://(?:(?P<user>[^@/:\s]+)@)?(?P<host>\[[0-9a-fA-F:.]+\]|[^@/:\s\[\]]+)"
    r"(?::(?P<port>\d{1,5}))?/?"
)


@dataclass(frozen=True)
class TargetUrl:
    """A remote target's SSH address."""

    user: str
    host: str
    port: int = 22

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        port = "" if self.port == 22 else f":{self.port}"
        return f"ssh://{self.user}@{host}{port}"


def parse_target(text: str) -> TargetUrl:
    """'ssh://root@cell-blade:2222' as a TargetUrl; the user defaults to the local user."""
    match = TARGET_RE.fullmatch(text.strip())
    if not match:
        raise UsageError(f"bad target {text!r}: use ssh://user@host[:port]")
    port = int(match["port"] or 22)
    if not 0 < port < 65536:
        raise UsageError(f"bad target {text!r}: port {port} is not 1-65535")
    return TargetUrl(match["user"] or getpass.getuser(), match["host"].strip("[]"), port)
