"""An SSH server in a booted guest: its network brought up and dropbear started through the
console agent, reached at the guest's forwarded port on the host's 127.0.0.1."""

import socket
import time
from dataclasses import dataclass
from pathlib import Path

from lab.errors import InfraError, UsageError
from lab.image.ssh_image import GUEST_DROPBEAR, GUEST_HOST_KEY, require_ssh
from lab.image.ssh_keys import GUEST_HOST, client_key, write_known_hosts
from lab.transport.base import run_required
from lab.transport.url import TargetUrl
from lab.vm.guest import Guest

USER = "root"
# QEMU user networking: the guest's address and the gateway (the host) it gives.
NETWORK = (
    ["ip", "link", "set", "lo", "up"],
    ["ip", "addr", "add", "10.0.2.15/24", "dev", "eth0"],
    ["ip", "link", "set", "eth0", "up"],
    ["ip", "route", "add", "default", "via", "10.0.2.2"],
)
SSHD_LOG = "/tmp/dropbear.log"
# -s: no password logins; -E: log to stderr (redirected to SSHD_LOG); daemonises itself.
SSHD = f"exec {GUEST_DROPBEAR} -s -E -r {GUEST_HOST_KEY} -p 22 -P /tmp/dropbear.pid 2>>{SSHD_LOG}"
COMMAND_TIMEOUT_S = 30.0
BANNER_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class SshEndpoint:
    """Where and how the host logs in to a guest's SSH server."""

    host: str
    port: int
    user: str
    key_file: Path
    known_hosts: Path

    def url(self) -> str:
        """'ssh://root@127.0.0.1:PORT'."""
        return str(TargetUrl(self.user, self.host, self.port))


def start_sshd(guest: Guest) -> SshEndpoint:
    """Bring up the guest's lo and eth0, start dropbear, and wait until the forwarded port
    answers with an SSH banner. Once per boot; the guest must have been booted with an
    `ssh_port` and an image built with ssh=True. The known_hosts file goes into the guest's
    work directory."""
    spec = guest.spec
    require_ssh(spec.arch)
    if not spec.ssh_port:
        raise UsageError("the guest was booted without an SSH port (MachineSpec.ssh_port)")
    probe = guest.run([GUEST_DROPBEAR, "-V"], timeout_s=COMMAND_TIMEOUT_S)
    if probe.kind == "error":
        raise UsageError(
            f"the guest's image has no {GUEST_DROPBEAR}: build it with "
            "build_initramfs(..., ssh=True)"
        )
    # A host name the target's identity (and the history's cell) can carry.
    for argv in [["hostname", f"faultlab-{spec.arch.name}"], *NETWORK]:
        run_required(guest, argv, f"guest network: {' '.join(argv)} failed", COMMAND_TIMEOUT_S)
    run_required(
        guest,
        ["@mount", "devpts", "/dev/pts", "devpts"],
        "cannot mount /dev/pts for SSH terminals",
        COMMAND_TIMEOUT_S,
    )
    run_required(guest, ["sh", "-c", SSHD], "cannot start dropbear", COMMAND_TIMEOUT_S)
    if not wait_for_banner(guest, spec.ssh_port, time.monotonic() + BANNER_TIMEOUT_S):
        log = guest.run(["@cat", SSHD_LOG], timeout_s=COMMAND_TIMEOUT_S)
        raise InfraError(
            f"the guest's SSH server did not answer on {GUEST_HOST}:"
            f"{spec.ssh_port} within {BANNER_TIMEOUT_S:.0f}s; dropbear's log: "
            f"{log.stdout.decode(errors='replace').strip() or '(empty)'}; "
            f"console log: {guest.console_log}"
        )
    known_hosts = write_known_hosts(
        spec.arch, spec.ssh_port, guest.workdir.resolve() / "known_hosts"
    )
    return SshEndpoint(GUEST_HOST, spec.ssh_port, USER, client_key().resolve(), known_hosts)


def wait_for_banner(guest: Guest, port: int, deadline: float) -> bool:
    """Whether 127.0.0.1:`port` sends an 'SSH-' banner before `deadline` (QEMU accepts the
    connection at once and closes it while nothing listens in the guest)."""
    while time.monotonic() < deadline:
        if not guest.qemu.alive():
            raise InfraError(
                f"QEMU died while the guest's SSH server started; console log: {guest.console_log}"
            )
        if read_banner(port).startswith(b"SSH-"):
            return True
        time.sleep(0.2)
    return False


def read_banner(port: int, timeout_s: float = 2.0) -> bytes:
    """The first bytes a server on 127.0.0.1:`port` sends (b'' when none)."""
    try:
        with socket.create_connection((GUEST_HOST, port), timeout=timeout_s) as sock:
            data = b""
            while len(data) < 4:
                chunk = sock.recv(4 - len(data))
                if not chunk:
                    break
                data += chunk
            return data
    except OSError:
        return b""
