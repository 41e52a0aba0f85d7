"""`ssh://[user@]host[:port]`: where a remote target is. The host may be a Host alias of the
ssh config; a user or port left out comes from there (lab/transport/ssh_config.py)."""

import re
from dataclasses import dataclass

from lab.errors import UsageError

TARGET_RE = re.compile(
    r"ssh://(?:(?P<user>[^@/:\s]+)@)?(?P<host>\[[0-9a-fA-F:.]+\]|[^@/:\s\[\]]+)"
    r"(?::(?P<port>\d{1,5}))?/?"
)


@dataclass(frozen=True)
class TargetUrl:
    """A remote target's SSH address as given: '' and 0 for a user and port left out."""

    user: str
    host: str
    port: int = 0

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        user = f"{self.user}@" if self.user else ""
        port = f":{self.port}" if self.port else ""
        return f"ssh://{user}{host}{port}"


def parse_target(text: str) -> TargetUrl:
    """'ssh://root@cell-blade:2222' as a TargetUrl; 'ssh://cell-blade' leaves the user and
    port to the ssh config (else the local user and 22)."""
    match = TARGET_RE.fullmatch(text.strip())
    if not match:
        raise UsageError(f"bad target {text!r}: use ssh://[user@]host[:port]")
    port = int(match["port"] or 0)
    if match["port"] and not 0 < port < 65536:
        raise UsageError(f"bad target {text!r}: port {port} is not 1-65535")
    return TargetUrl(match["user"] or "", match["host"].strip("[]"), port)
