"""What an initramfs needs for a guest reached over SSH (x86_64 only): Debian's dropbear with
the shared libraries it loads, root's account with the lab's client key, the host key."""

from pathlib import Path

from lab.arch import ARCHES, ArchProfile
from lab.errors import UsageError
from lab.image import cpio, ssh_keys
from lab.peers.sharedlibs import runtime_files

DROPBEAR = Path("/usr/sbin/dropbear")  # Debian's dropbear-bin
GUEST_DROPBEAR = "/usr/sbin/dropbear"
GUEST_HOST_KEY = "/etc/dropbear/dropbear_ed25519_host_key"
NO_SSH = (
    "{arch} guests cannot be reached over SSH: the lab's SSH server is Debian's {host} "
    "dropbear (dynamically linked) with busybox as the login shell, and Debian has "
    "neither for big-endian ppc64. It would need a static dropbear cross-built with "
    "powerpc64-linux-gnu-gcc (and a static shell for its sessions); the lab does not "
    "provide SSH for {arch} guests"
)


def require_ssh(arch: ArchProfile) -> None:
    """Refuse an arch whose guests the lab cannot give an SSH server, saying what it lacks."""
    if not arch.runs_host_packages:
        able = (a.name for a in ARCHES.values() if a.runs_host_packages)
        raise UsageError(NO_SSH.format(arch=arch.name, host=", ".join(able)))


def ssh_entries(arch: ArchProfile) -> list[cpio.Entry]:
    """dropbear and the files it loads, /etc/passwd (root, home /root, shell /bin/sh),
    root's authorized_keys holding the lab's client key, and the arch's host key."""
    require_ssh(arch)
    if not DROPBEAR.exists():
        raise UsageError(
            f"{DROPBEAR} not found; install the Debian package dropbear-bin (or run `make deps`)"
        )
    entries = cpio.host_files({GUEST_DROPBEAR.lstrip("/"): DROPBEAR, **runtime_files(DROPBEAR)})
    entries += [
        cpio.directory("etc"),
        cpio.file("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n"),
        cpio.file("etc/group", b"root:x:0:\n"),
        cpio.file("etc/shells", b"/bin/sh\n"),
        cpio.directory("root/.ssh", 0o700),
        cpio.secret_file("root/.ssh/authorized_keys", f"{ssh_keys.client_public_key()}\n".encode()),
        cpio.directory("etc/dropbear"),
        cpio.secret_file(GUEST_HOST_KEY.lstrip("/"), ssh_keys.host_key(arch).read_bytes()),
    ]
    return entries
