"""The `ssh` transport: the lab's agent on a remote target, spoken to over one SSH channel.

The connection checks the target's host key against known_hosts (never adds one) and logs in
with a key: a key file, or the user's SSH agent and default keys. Files go up through `cat`
over an exec channel (dropbear guests have no SFTP). The agent runs as `agent --stdio`; when
the connection drops it kills the command it runs, so nothing of a run outlives it.
"""

import shlex
import time
from dataclasses import dataclass
from pathlib import Path

import paramiko

from lab.suites.layout import TargetPaths
from lab.transport.agent import AgentClient, AgentGone, CommandResult, Hello
from lab.transport.base import HANG_GRACE_S, TransportLost
from lab.transport.kmsg import KmsgCursor
from lab.transport.url import TargetUrl

DEFAULT_KNOWN_HOSTS = Path("~/.ssh/known_hosts")
COMMAND_TIMEOUT_S = 600.0


@dataclass(frozen=True)
class SshOptions:
    """How to log in: a key file (None: the SSH agent and default keys) and known_hosts."""

    key_file: Path | None = None
    known_hosts: Path | None = None
    connect_timeout_s: float = 20.0

    def known_hosts_file(self) -> Path:
        return (self.known_hosts or DEFAULT_KNOWN_HOSTS).expanduser()


def connect(url: TargetUrl, options: SshOptions) -> paramiko.SSHClient:
    """A logged-in client, or TransportLost saying why not (unknown or changed host key,
    refused key, unreachable host)."""
    known = options.known_hosts_file()
    if not known.is_file():
        raise TransportLost(
            f"{url}: no known_hosts file {known}; check the target's host key "
            f"and add it (ssh-keyscan -p {url.port} {url.host} >> {known})"
        )
    client = paramiko.SSHClient()
    client.load_host_keys(str(known))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    key = options.key_file.expanduser() if options.key_file else None
    if key and not key.is_file():
        raise TransportLost(f"{url}: key file {key} not found")
    timeout = options.connect_timeout_s
    try:
        client.connect(
            url.host,
            url.port,
            url.user,
            key_filename=str(key) if key else None,
            allow_agent=key is None,
            look_for_keys=key is None,
            timeout=timeout,
            banner_timeout=timeout,
            auth_timeout=timeout,
        )
    except paramiko.BadHostKeyException as e:
        client.close()
        raise TransportLost(
            f"{url}: host key {e.key.get_name()} {e.key.fingerprint} does not "
            f"match the one in {known}: refusing to connect"
        ) from e
    except paramiko.AuthenticationException as e:
        client.close()
        how = f"key {key}" if key else "the SSH agent's and the default keys"
        raise TransportLost(f"{url}: login as {url.user} refused with {how} ({e})") from e
    except paramiko.SSHException as e:
        client.close()
        if "not found in known_hosts" in str(e):
            raise TransportLost(
                f"{url}: host key not in {known}; check it and add it "
                f"(ssh-keyscan -p {url.port} {url.host} >> {known})"
            ) from e
        raise TransportLost(f"{url}: SSH failed: {e}") from e
    except OSError as e:
        client.close()
        raise TransportLost(f"{url}: cannot connect: {e}") from e
    return client


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
