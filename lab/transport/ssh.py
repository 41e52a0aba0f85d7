"""The `ssh` transport: the lab's agent on a remote target, spoken to over one SSH channel.

The connection goes the way the ssh config says (lab/transport/ssh_config.py: through jump
hosts or a ProxyCommand), checks every hop's host key against known_hosts (never adds one)
and logs in to each with a key (lab/transport/ssh_auth.py). Files go up through `cat`
over an exec channel (dropbear guests have no SFTP). The agent runs as `agent --stdio`; when
the connection drops it kills the command it runs, so nothing of a run outlives it.
"""

import logging
import shlex
import time
from dataclasses import dataclass
from pathlib import Path

import paramiko
from fabric import Connection
from paramiko.auth_strategy import AuthFailure

from lab.suites.layout import TargetPaths
from lab.transport.agent import AgentClient, AgentGone, CommandResult, Hello
from lab.transport.base import HANG_GRACE_S, TransportLost
from lab.transport.kmsg import KmsgCursor
from lab.transport.ssh_auth import login_keys
from lab.transport.ssh_config import (
    SshOptions,
    describe,
    hop_name,
    jump_hosts,
    key_files,
    known_hosts_files,
    proxy_command,
    target_connection,
)
from lab.transport.url import TargetUrl

COMMAND_TIMEOUT_S = 600.0
# paramiko logs what it also raises (a refused channel, a failed login): the lab says it once.
logging.getLogger("paramiko").setLevel(logging.CRITICAL)


@dataclass
class SshLink:
    """An open SSH connection to a target, and the jump hosts it goes through."""

    url: TargetUrl
    connection: Connection

    @property
    def client(self) -> paramiko.SSHClient:
        return self.connection.client

    def route(self) -> str:
        return describe(self.connection)

    def close(self) -> None:
        """Close the target's connection, then its jump hosts' (the last hop first)."""
        for hop in [self.connection, *reversed(jump_hosts(self.connection))]:
            hop.client.close()


def connect(url: TargetUrl, options: SshOptions) -> SshLink:
    """A logged-in connection over the route the ssh config gives (each jump host in turn),
    or TransportLost saying why not and where (unknown or changed host key, refused key,
    unreachable host, a jump host that refuses or cannot reach the next hop)."""
    connection = target_connection(url, options)
    hops = jump_hosts(connection)
    link = SshLink(url, connection)
    try:
        for index, hop in enumerate(hops):
            open_hop(hop, options, f"{url}: jump host {hop_name(hop)}", hops[index - 1 : index])
        open_hop(connection, options, str(url), hops[-1:])
    except BaseException:
        link.close()
        raise
    return link


def open_hop(hop: Connection, options: SshOptions, where: str, jump: list[Connection]) -> None:
    """Open one hop (its jump host, if any, already open), with the lab's rules: its host key
    from known_hosts, a key login."""
    known = [path for path in known_hosts_files(hop, options) if path.is_file()]
    hint = keyscan_hint(hop, jump, known or known_hosts_files(hop, options))
    if not known:
        raise TransportLost(
            f"{where}: no known_hosts file {known_hosts_files(hop, options)[0]}; check the "
            f"host key and add it ({hint})"
        )
    for path in known:
        hop.client.load_host_keys(str(path))
    for key in key_files(hop, options):
        if not key.is_file():
            raise TransportLost(f"{where}: key file {key} not found")
    known_names = ", ".join(map(str, known))
    try:
        hop.open()
    except paramiko.BadHostKeyException as e:
        raise TransportLost(
            f"{where}: host key {e.key.get_name()} {e.key.fingerprint} does not "
            f"match the one in {known_names}: refusing to connect"
        ) from e
    except paramiko.AuthenticationException as e:
        how = login_keys(hop.ssh_config, options.key_file)
        raise TransportLost(
            f"{where}: login as {hop.user} refused with {how} ({refusal(e)})"
        ) from e
    except paramiko.ChannelException as e:
        raise TransportLost(
            f"{where}: the jump host {hop_name(jump[0])} cannot reach "
            f"{hop.host}:{hop.port}: {e.text}"
        ) from e
    except paramiko.SSHException as e:
        if "not found in known_hosts" in str(e):
            raise TransportLost(
                f"{where}: host key not in {known_names}; check it and add it ({hint})"
            ) from e
        through = f" (through `{proxy_command(hop)}`)" if proxy_command(hop) else ""
        raise TransportLost(f"{where}: SSH failed{through}: {e}") from e
    except OSError as e:
        raise TransportLost(f"{where}: cannot connect: {e}") from e


def refusal(error: paramiko.AuthenticationException) -> str:
    """Why a login failed, in a line: what each key got, or that there was none to try."""
    if not isinstance(error, AuthFailure):
        return str(error)
    why = [str(attempt.result) for attempt in error.result]
    return "; ".join(dict.fromkeys(why)) or "no key to try"


def keyscan_hint(hop: Connection, jump: list[Connection], known: list[Path]) -> str:
    """How to fetch a hop's host key: ssh-keyscan, where it can reach the hop."""
    scan = f"ssh-keyscan -p {hop.port} {hop.host}"
    if jump:
        return f"{scan} on the jump host {hop_name(jump[0])}, its line added to {known[0]}"
    if proxy_command(hop):
        return f"{scan} where the ProxyCommand reaches it, its line added to {known[0]}"
    return f"{scan} >> {known[0]}"


@dataclass(frozen=True)
class ExecResult:
    """A shell command run over its own channel."""

    status: int
    stdout: bytes
    stderr: bytes


def exec_command(
    client: paramiko.SSHClient,
    url: TargetUrl,
    command: str,
    stdin: bytes = b"",
    timeout_s: float = 120.0,
) -> ExecResult:
    """Run a shell command on the target, feeding it `stdin`; TransportLost if the channel
    breaks or the command outlasts `timeout_s`."""
    try:
        channel = client.get_transport().open_session(timeout=timeout_s)
        channel.settimeout(timeout_s)
        channel.exec_command(command)
        if stdin:
            channel.sendall(stdin)
        channel.shutdown_write()
        stdout = channel.makefile("rb").read()
        stderr = channel.makefile_stderr("rb").read()
        status = channel.recv_exit_status()
        channel.close()
    except (paramiko.SSHException, OSError, AttributeError) as e:
        raise TransportLost(f"{url}: `{command[:60]}` failed: {e or type(e).__name__}") from e
    return ExecResult(status, stdout, stderr)


def upload(
    client: paramiko.SSHClient, url: TargetUrl, data: bytes, path: str, mode: str = "755"
) -> None:
    """Write `data` to `path` on the target: a temporary name first, then renamed."""
    part = f"{path}.part"
    command = (
        f"mkdir -p {shlex.quote(str(Path(path).parent))} && "
        f"cat > {shlex.quote(part)} && chmod {mode} {shlex.quote(part)} && "
        f"mv -f {shlex.quote(part)} {shlex.quote(path)}"
    )
    result = exec_command(client, url, command, stdin=data)
    if result.status != 0:
        raise TransportLost(
            f"{url}: cannot write {path}: {result.stderr.decode(errors='replace').strip()}"
        )


class SshTransport:
    """The agent on a remote target over SSH, from start() to close()."""

    name = "ssh"

    def __init__(
        self,
        url: TargetUrl,
        client: paramiko.SSHClient,
        paths: TargetPaths,
        cursor: KmsgCursor | None = None,
    ):
        self.url, self.client, self.paths = url, client, paths
        self.cursor = cursor or KmsgCursor()
        self.channel: paramiko.Channel | None = None
        self.agent: AgentClient | None = None
        self._hello: Hello | None = None

    def start(self, timeout_s: float = 30.0) -> None:
        """Start `agent --stdio` (uploaded to the target's bindir) and wait for READY."""
        agent = shlex.quote(f"{self.paths.bindir}/agent")
        try:
            self.channel = self.client.get_transport().open_session(timeout=timeout_s)
            self.channel.exec_command(f"exec {agent} --stdio")
        except (paramiko.SSHException, OSError, AttributeError) as e:
            raise TransportLost(f"{self.url}: cannot start the agent: {e}") from e
        self.agent = AgentClient(self.channel)
        try:
            self._hello = self.agent.hello(
                time.monotonic() + timeout_s, alive=lambda: not self.channel.exit_status_ready()
            )
        except (AgentGone, TimeoutError, OSError) as e:
            why = self._stderr() or str(e) or "no READY"
            raise TransportLost(f"{self.url}: the agent did not start: {why}") from e

    def _stderr(self) -> str:
        """What the agent said on stderr, if its channel has it."""
        if self.channel is None or not self.channel.recv_stderr_ready():
            return ""
        return self.channel.recv_stderr(65536).decode(errors="replace").strip()

    @property
    def hello(self) -> Hello:
        if self._hello is None:
            raise TransportLost(f"{self.url}: not connected")
        return self._hello

    def alive(self) -> bool:
        """The agent channel is still open."""
        return self.agent is not None and not self.channel.closed

    def run(self, argv: list[str], timeout_s: float | None = None) -> CommandResult:
        """Run a command through the agent; a dropped connection raises TransportLost."""
        if self.agent is None:
            raise TransportLost(f"{self.url}: not connected")
        if timeout_s is None:
            timeout_s = COMMAND_TIMEOUT_S
        try:
            return self.agent.run(argv, timeout_s, time.monotonic() + timeout_s + HANG_GRACE_S)
        except (AgentGone, OSError, TimeoutError, EOFError) as e:
            self.close()
            why = "stopped answering" if isinstance(e, TimeoutError) else "connection lost"
            raise TransportLost(f"{self.url}: {why} while running {argv[0]} ({e or 'EOF'})") from e

    def kmsg(self) -> str:
        """Kernel log records not read before on this target, also across reconnects."""
        result = self.run(["@kmsg"], timeout_s=30)
        if not result.ok:
            raise TransportLost(
                f"{self.url}: cannot read the kernel log: "
                f"{result.stderr.decode(errors='replace').strip()} (the lab "
                "needs /dev/kmsg: log in as root or set kernel.dmesg_restrict=0)"
            )
        return self.cursor.take(result.stdout.decode(errors="replace"))

    def crash_evidence(self) -> str:
        """A remote target has no console the lab reads."""
        return ""

    def close(self) -> None:
        """Close the agent's channel: the agent kills what it runs and exits."""
        if self.channel is not None:
            self.channel.close()
        self.agent = None
