"""Where the lab's files and scratch filesystems are on a machine that runs the suites."""

from dataclasses import dataclass


@dataclass(frozen=True)
class TargetPaths:
    """Where the lab's files and scratch filesystems are on a target."""

    bindir: str  # suite programs and labctl
    moddir: str  # lab kernel modules; '{release}' is the running kernel's release
    tmpfs: str  # a tmpfs directory for file-backed cases
    ext4: str = ""  # an ext4 directory, '' when the target has none (those cases skip)

    def module(self, name: str, release: str) -> str:
        """The path of a lab module on the target."""
        return f"{self.moddir.format(release=release)}/{name}.ko"

    @property
    def labctl(self) -> str:
        """The guest-side pressure and process controls (images/labctl)."""
        return f"{self.bindir}/labctl"


# The lab's own guest image (lab/image/initramfs.py) and its scratch disk.
GUEST_PATHS = TargetPaths("/lab/bin", "/lib/modules/{release}/extra", "/tmp", "/mnt/ext4")
