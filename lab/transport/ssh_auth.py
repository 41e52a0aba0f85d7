"""How the lab logs in to a target or a jump host: public keys only, never a password or
keyboard-interactive (a paramiko AuthStrategy that fabric hands every hop).

The keys are `--ssh-key` alone when it is given; else the hop's IdentityFile keys (those
that exist) and then the SSH agent's keys, unless the config says `IdentitiesOnly yes`;
else the agent's keys and the default ~/.ssh keys.
"""

from collections.abc import Iterator
from pathlib import Path

from paramiko import Agent, PKey
from paramiko.auth_strategy import AuthSource, AuthStrategy, InMemoryPrivateKey, OnDiskPrivateKey
from paramiko.config import SSHConfigDict
from paramiko.ssh_exception import (
    AuthenticationException,
    PasswordRequiredException,
    SSHException,
)

DEFAULT_KEYS = ("id_ed25519", "id_ecdsa", "id_rsa")  # in ~/.ssh


def identity_files(ssh_config: SSHConfigDict, key_file: Path | None) -> list[Path]:
    """The key files a hop logs in with: `key_file` when given, else the config's
    IdentityFile keys that exist (none: the agent and the default keys)."""
    if key_file is not None:
        return [key_file.expanduser()]
    named = [Path(p).expanduser() for p in ssh_config.get("identityfile", [])]
    return [p for p in dict.fromkeys(named) if p.is_file()]


def login_keys(ssh_config: SSHConfigDict, key_file: Path | None) -> str:
    """The keys a login tries, as a message names them."""
    files = identity_files(ssh_config, key_file)
    if key_file is not None:
        return f"key {files[0]}"
    if files:
        agent = "" if identities_only(ssh_config) else " and the SSH agent's keys"
        return f"key {', '.join(map(str, files))}{agent}"
    return "the SSH agent's and the default keys"


def identities_only(ssh_config: SSHConfigDict) -> bool:
    return ssh_config.get("identitiesonly", "no").lower() == "yes"


def load_key(path: Path) -> PKey:
    """A private key file, refused when it needs a passphrase (the lab never asks for one)."""
    try:
        return PKey.from_path(path)
    except (PasswordRequiredException, TypeError) as e:  # TypeError: cryptography's word
        raise AuthenticationException(
            f"key {path} needs a passphrase: add it to your SSH agent instead"
        ) from e
    except (OSError, ValueError, SSHException) as e:
        raise AuthenticationException(f"cannot read key {path}: {e}") from e


class KeysOnly(AuthStrategy):
    """Public-key logins with the keys of the module's rule, one after the other."""

    def __init__(self, ssh_config: SSHConfigDict, fabric_config, username: str):
        super().__init__(ssh_config=ssh_config)
        self.username = username
        identities = fabric_config.authentication.identities
        self.key_file = Path(identities[0]) if identities else None

    def get_sources(self) -> Iterator[AuthSource]:
        files = identity_files(self.ssh_config, self.key_file)
        source = "python-config" if self.key_file else "ssh-config"
        for path in files:
            yield OnDiskPrivateKey(self.username, source, path, load_key(path))
        if self.key_file is not None or (files and identities_only(self.ssh_config)):
            return
        agent = Agent()
        try:
            for key in agent.get_keys():
                yield InMemoryPrivateKey(self.username, key)
            for path, key in () if files else default_keys():
                yield OnDiskPrivateKey(self.username, "implicit-home", path, key)
        finally:
            agent.close()


def default_keys() -> list[tuple[Path, PKey]]:
    """The default ~/.ssh keys that exist and need no passphrase (the agent may hold the
    others)."""
    keys = []
    for path in (Path("~/.ssh").expanduser() / name for name in DEFAULT_KEYS):
        if path.is_file():
            try:
                keys.append((path, load_key(path)))
            except AuthenticationException:
                continue
    return keys
