"""The lab's SSH keys, kept in its cache (paths.cache_dir("ssh")) and made once: the client
key that logs in to every guest, one dropbear host key per arch, and known_hosts files for a
guest's forwarded port."""

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from lab import paths, proc
from lab.arch import ArchProfile
from lab.errors import BuildError
from lab.kernel.toolchain import require

CLIENT_KEY = "client_ed25519"
CLIENT_COMMENT = "faultlab"
GUEST_HOST = "127.0.0.1"  # where a guest's SSH port is forwarded to


def key_dir() -> Path:
    """The cache folder of the keys, readable by its owner only."""
    path = paths.cache_dir("ssh")
    path.chmod(0o700)
    return path


def client_key() -> Path:
    """The client's private key (OpenSSH format, mode 0600), generated on first use."""
    path = key_dir() / CLIENT_KEY
    if not path.exists():
        private = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        )
        _publish(path, lambda tmp: tmp.write_bytes(private))
    return path


def client_public_key() -> str:
    """The client key's public line: 'ssh-ed25519 AAAA... faultlab'."""
    key = serialization.load_ssh_private_key(client_key().read_bytes(), password=None)
    public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    return f"{public.decode()} {CLIENT_COMMENT}"


def host_key(arch: ArchProfile) -> Path:
    """The dropbear ed25519 host key of `arch`'s guests, generated on first use."""
    path = key_dir() / f"dropbear_ed25519_host_key-{arch.name}"
    if not path.exists():
        dropbearkey = require("dropbearkey")
        _publish(path, lambda tmp: proc.run([dropbearkey, "-t", "ed25519", "-f", str(tmp)]))
    return path


def host_public_key(arch: ArchProfile) -> str:
    """The host key's public part: 'ssh-ed25519 AAAA...' (from `dropbearkey -y`)."""
    out = proc.output([require("dropbearkey"), "-y", "-f", str(host_key(arch))])
    for line in out.splitlines():
        if line.startswith("ssh-ed25519 "):
            return " ".join(line.split()[:2])
    raise BuildError(
        f"dropbearkey -y printed no ssh-ed25519 public key for {host_key(arch)}:\n{out}"
    )


def write_known_hosts(arch: ArchProfile, port: int, path: Path, host: str = GUEST_HOST) -> Path:
    """A known_hosts file that trusts `arch`'s host key at [127.0.0.1]:`port` (or `host`)
    only."""
    name = host if port == 22 else f"[{host}]:{port}"
    path.write_text(f"{name} {host_public_key(arch)}\n")
    return path


def _publish(path: Path, make: Callable[[Path], object]) -> None:
    """Make a private file with `make(tmp)` next to `path` (mode 0600) and link it into place;
    when another process got there first, its file stays."""
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".new-") as tmp_dir:
        os.chmod(tmp_dir, 0o700)
        tmp = Path(tmp_dir) / path.name
        old_umask = os.umask(0o077)
        try:
            make(tmp)
        finally:
            os.umask(old_umask)
        os.chmod(tmp, 0o600)
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)  # atomic, and never replaces a key already handed out
