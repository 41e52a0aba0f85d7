"""An SSH server in a booted guest: its network brought up and dropbear started through the
console agent, reached at the guest's forwarded port on the host's 127.0.0.1, or over a
private link from another guest (lab/vm/link.py)."""

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
from lab.vm.qemu import USER_NET_MAC

USER = "root"
# QEMU user networking: the guest's address and the gateway (the host) it gives.
USER_NET = ("10.0.2.15/24", "10.0.2.2")
SSHD_LOG = "/tmp/dropbear.log"
# -s: no password logins; -E: log to stderr (redirected to SSHD_LOG); daemonises itself.
SSHD = f"exec {GUEST_DROPBEAR} -s -E -r {GUEST_HOST_KEY} -p 22 -P /tmp/dropbear.pid"
NO_FORWARDING = "-j -k"  # no local (direct-tcpip) and no remote port forwarding
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


def start_sshd(guest: Guest, hostname: str = "") -> SshEndpoint:
    """Bring up the guest's network (lo; eth0 on QEMU user networking when it has an SSH
    port; its private link's NIC), start dropbear, and wait until it answers: with an SSH
    port, an SSH banner on the forwarded port; with a private link only, a socket
    listening on port 22. Once per boot, on an image built with ssh=True. Port forwarding
    is allowed only to a jump host (a guest with both an SSH port and a link). The
    known_hosts file (the forwarded port's, else the link address's) goes into the guest's
    work directory; the endpoint is where the host (or, for a link only, the jump host)
    reaches the server."""
    spec = guest.spec
    require_ssh(spec.arch)
    if not spec.ssh_port and spec.link is None:
        raise UsageError(
            "the guest was booted without an SSH port (MachineSpec.ssh_port) or a "
            "private link (MachineSpec.link)"
        )
    probe = guest.run([GUEST_DROPBEAR, "-V"], timeout_s=COMMAND_TIMEOUT_S)
    if probe.kind == "error":
        raise UsageError(
            f"the guest's image has no {GUEST_DROPBEAR}: build it with "
            "build_initramfs(..., ssh=True)"
        )
    # A host name the target's identity (and the history's cell) can carry.
    setup(guest, ["hostname", hostname or f"faultlab-{spec.arch.name}"], "guest network")
    setup(guest, ["ip", "link", "set", "lo", "up"], "guest network")
    if spec.ssh_port:
        up(guest, interface(guest, USER_NET_MAC), USER_NET[0])
        setup(guest, ["ip", "route", "add", "default", "via", USER_NET[1]], "guest network")
    if spec.link is not None:
        up(guest, interface(guest, spec.link.mac), spec.link.address())
    setup(guest, ["@mount", "devpts", "/dev/pts", "devpts"], "cannot mount /dev/pts for SSH")
    jump = spec.ssh_port and spec.link is not None
    sshd = f"{SSHD} {'' if jump else NO_FORWARDING} 2>>{SSHD_LOG}"
    run_required(guest, ["sh", "-c", sshd], "cannot start dropbear", COMMAND_TIMEOUT_S)
    deadline = time.monotonic() + BANNER_TIMEOUT_S
    answered = (
        wait_for_banner(guest, spec.ssh_port, deadline)
        if spec.ssh_port
        else wait_for_listener(guest, deadline)
    )
    host, port = (GUEST_HOST, spec.ssh_port) if spec.ssh_port else (spec.link.ip, 22)
    if not answered:
        log = guest.run(["@cat", SSHD_LOG], timeout_s=COMMAND_TIMEOUT_S)
        raise InfraError(
            f"the guest's SSH server did not answer on {host}:{port} within "
            f"{BANNER_TIMEOUT_S:.0f}s; dropbear's log: "
            f"{log.stdout.decode(errors='replace').strip() or '(empty)'}; "
            f"console log: {guest.console_log}"
        )
    known_hosts = write_known_hosts(
        spec.arch, port, guest.workdir.resolve() / "known_hosts", host=host
    )
    return SshEndpoint(host, port, USER, client_key().resolve(), known_hosts)


def setup(guest: Guest, argv: list[str], what: str) -> None:
    """A setup command through the agent; InfraError naming it when it fails."""
    run_required(guest, argv, f"{what}: {' '.join(argv)} failed", COMMAND_TIMEOUT_S)


def interface(guest: Guest, mac: str) -> str:
    """The name of the guest's NIC with this MAC address (from `ip -o link`)."""
    listing = run_required(
        guest, ["ip", "-o", "link"], "guest network: ip -o link failed", COMMAND_TIMEOUT_S
    )
    text = listing.stdout.decode(errors="replace")
    for line in text.splitlines():
        if f"link/ether {mac}" in line:
            return line.split(":")[1].strip().partition("@")[0]
    raise InfraError(f"guest network: no NIC with MAC {mac}; `ip -o link` says:\n{text}")


def up(guest: Guest, name: str, address: str) -> None:
    """Give a NIC its address and bring it up."""
    setup(guest, ["ip", "addr", "add", address, "dev", name], "guest network")
    setup(guest, ["ip", "link", "set", name, "up"], "guest network")


def wait_for_listener(guest: Guest, deadline: float) -> bool:
    """Whether something in the guest listens on TCP port 22 before `deadline` (its
    /proc/net/tcp, read through the agent)."""
    while time.monotonic() < deadline:
        table = guest.run(["@cat", "/proc/net/tcp"], timeout_s=COMMAND_TIMEOUT_S)
        for line in table.stdout.decode(errors="replace").splitlines()[1:]:
            fields = line.split()
            if len(fields) > 3 and fields[1].endswith(":0016") and fields[3] == "0A":
                return True
        time.sleep(0.2)
    return False


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
