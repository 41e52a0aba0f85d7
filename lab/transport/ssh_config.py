"""Where a target is and the route to it, as the ssh config says, resolved by fabric.

`ssh://cell-blade` is looked up as a Host of the ssh config (`--ssh-config`, default
~/.ssh/config): HostName, User, Port, IdentityFile, UserKnownHostsFile, and the route:
ProxyJump (jump hosts, each a fabric Connection of its own, resolved the same way) or
ProxyCommand (a command whose stdin and stdout carry the connection). A user or port in the
URL, `--ssh-key` and `--known-hosts` win over the config. Every hop gets the lab's rules:
host keys only from known_hosts (paramiko's RejectPolicy) and key logins only (KeysOnly).
"""

from dataclasses import dataclass
from pathlib import Path

import paramiko
from fabric import Config, Connection
from fabric.connection import derive_shorthand
from paramiko.config import SSHConfig, SSHConfigDict

from lab.errors import UsageError
from lab.transport.ssh_auth import KeysOnly, identity_files
from lab.transport.url import TargetUrl

DEFAULT_SSH_CONFIG = Path("~/.ssh/config")
DEFAULT_KNOWN_HOSTS = Path("~/.ssh/known_hosts")
MAX_JUMPS = 8


@dataclass(frozen=True)
class SshOptions:
    """How to log in: a key file, a known_hosts file and an ssh config file (None: what the
    ssh config says, else the SSH agent and default keys, ~/.ssh/known_hosts and
    ~/.ssh/config)."""

    key_file: Path | None = None
    known_hosts: Path | None = None
    config_file: Path | None = None
    connect_timeout_s: float = 20.0

    def config_path(self) -> Path:
        return (self.config_file or DEFAULT_SSH_CONFIG).expanduser()


def fabric_config(options: SshOptions) -> Config:
    """fabric's Config with the ssh config file (no other file) and the lab's login rules,
    which it hands on to the jump hosts' connections."""
    path = options.config_path()
    if options.config_file is not None and not path.is_file():
        raise UsageError(f"ssh config file {path} not found")
    timeout = options.connect_timeout_s
    overrides = {
        "authentication": {
            "strategy_class": KeysOnly,
            "identities": [str(options.key_file)] if options.key_file else [],
        },
        "connect_kwargs": {"banner_timeout": timeout, "auth_timeout": timeout},
        "timeouts": {"connect": max(1, round(timeout))},
        "forward_agent": False,
    }
    if path.is_file():
        return Config(runtime_ssh_path=str(path), overrides=overrides)
    return Config(ssh_config=SSHConfig(), overrides=overrides)


def target_connection(url: TargetUrl, options: SshOptions) -> Connection:
    """The target's fabric Connection, not yet open, with its route as its gateway; every
    hop refuses unknown host keys."""
    config = fabric_config(options)
    try:
        connection = Connection(
            url.host,
            user=url.user or None,
            port=url.port or None,
            config=config.clone(),
            gateway=route(url.host, config, target_entry(url, options, config), 0),
        )
    except (ValueError, paramiko.SSHException) as e:
        raise UsageError(f"{url}: bad ssh config {options.config_path()}: {e}") from e
    for hop in [*jump_hosts(connection), connection]:
        hop.client.set_missing_host_key_policy(paramiko.RejectPolicy())
    return connection


def target_entry(url: TargetUrl, options: SshOptions, config: Config) -> SSHConfigDict:
    """The target's ssh config entry, the URL's user and port first (so that they are a
    ProxyCommand's %r and %p)."""
    path = options.config_path()
    if not (url.user or url.port) or not path.is_file():
        return config.base_ssh_config.lookup(url.host)
    given = [f"Host {url.host}"]
    given += [f"    User {url.user}"] if url.user else []
    given += [f"    Port {url.port}"] if url.port else []
    return SSHConfig.from_text("\n".join(given) + "\n" + path.read_text()).lookup(url.host)


def hop_connection(
    given: str, config: Config, user: str | None = None, port: int | None = None, depth: int = 0
) -> Connection:
    """A Connection to `given` ('[user@]host[:port]' or a Host alias) over the route its
    ssh config block names."""
    host = derive_shorthand(given)["host"]
    return Connection(
        given,
        user=user,
        port=port,
        config=config.clone(),
        gateway=route(host, config, config.base_ssh_config.lookup(host), depth),
    )


def route(host: str, config: Config, found: SSHConfigDict, depth: int) -> Connection | str | bool:
    """How `host` is reached: through its jump hosts (ProxyJump, visited in the order given,
    as OpenSSH does; the first hop over its own route), a ProxyCommand, or directly (False).
    The option the config names first wins, as in OpenSSH."""
    first = next((key for key in found if key in ("proxyjump", "proxycommand")), "")
    value = found.get(first, "none")
    if value == "none":
        return False
    if first == "proxycommand":
        return value
    hops = [hop.strip() for hop in value.split(",") if hop.strip()]
    if not hops or derive_shorthand(hops[0])["host"] == host:
        return False  # none, or a `Host *` ProxyJump naming this very host
    if depth >= MAX_JUMPS:
        raise ValueError(f"more than {MAX_JUMPS} jump hosts on the way to {host} (a loop?)")
    gateway = hop_connection(hops[0], config, depth=depth + 1)
    for hop in hops[1:]:
        gateway = Connection(hop, config=config.clone(), gateway=gateway)
    return gateway


def jump_hosts(connection: Connection) -> list[Connection]:
    """The connection's jump hosts (ProxyJump), the first hop first."""
    hops: list[Connection] = []
    gateway = connection.gateway
    while isinstance(gateway, Connection):
        hops.insert(0, gateway)
        gateway = gateway.gateway
    return hops


def proxy_command(connection: Connection) -> str:
    """The ProxyCommand that carries the connection ('' for none)."""
    return connection.gateway if isinstance(connection.gateway, str) else ""


def known_hosts_files(connection: Connection, options: SshOptions) -> list[Path]:
    """Where a hop's host key must be: --known-hosts, else the config's
    UserKnownHostsFile, else ~/.ssh/known_hosts."""
    if options.known_hosts is not None:
        return [options.known_hosts.expanduser()]
    named = connection.ssh_config.get("userknownhostsfile", "").split()
    return [Path(p).expanduser() for p in named] or [DEFAULT_KNOWN_HOSTS.expanduser()]


def key_files(connection: Connection, options: SshOptions) -> list[Path]:
    """The key files a hop logs in with (none: the SSH agent and the default keys)."""
    return identity_files(connection.ssh_config, options.key_file)


def address(connection: Connection) -> str:
    """'root@10.1.2.3:2222'."""
    host = f"[{connection.host}]" if ":" in connection.host else connection.host
    return f"{connection.user}@{host}:{connection.port}"


def hop_name(connection: Connection) -> str:
    """'jump (root@10.0.0.1:22)', or the address when it was given as one."""
    given = connection.original_host
    return address(connection) if given == connection.host else f"{given} ({address(connection)})"


def describe(connection: Connection) -> str:
    """'root@10.1.2.3:2222 through jump host jump (hopper@10.0.0.1:22)'; several jump hosts
    are named in the order they are visited."""
    hops = [hop_name(hop) for hop in jump_hosts(connection)]
    route = f" through jump host{'s' if len(hops) > 1 else ''} {', '.join(hops)}" if hops else ""
    command = proxy_command(connection)
    if command:
        route += f" through ProxyCommand `{command}`"
    return address(connection) + route
