"""A private Ethernet link between two guests: a second NIC in each whose frames QEMU sends
as UDP datagrams between two ports on the host's 127.0.0.1 (`-netdev dgram`), so nothing
on it leaves the host and the guests' user networking stays `restrict=on`. The guests'
addresses on it are link-local (169.254.77.0/24), set through the agent (lab/vm/sshd.py).
"""

from dataclasses import dataclass

from lab.vm.ports import free_udp_port

LINK_PREFIX = "169.254.77"
LINK_MASK = 24


@dataclass(frozen=True)
class PrivateLink:
    """One guest's end of a link: the UDP port its QEMU receives on, the port of the other
    end, its MAC address (the guest finds the NIC by it) and its IPv4 address."""

    local_port: int
    remote_port: int
    mac: str
    ip: str

    def address(self) -> str:
        """'169.254.77.1/24'."""
        return f"{self.ip}/{LINK_MASK}"

    def qemu_argv(self) -> list[str]:
        """The netdev and its virtio NIC."""
        ends = (
            f"local.type=inet,local.host=127.0.0.1,local.port={self.local_port},"
            f"remote.type=inet,remote.host=127.0.0.1,remote.port={self.remote_port}"
        )
        return [
            "-netdev",
            f"dgram,id=link0,{ends}",
            "-device",
            f"virtio-net-pci,netdev=link0,mac={self.mac}",
        ]


def link_pair() -> tuple[PrivateLink, PrivateLink]:
    """Both ends of a new link: 169.254.77.1 and 169.254.77.2."""
    first = free_udp_port()
    second = free_udp_port()
    while second == first:
        second = free_udp_port()
    return (
        PrivateLink(first, second, "52:54:00:4c:00:01", f"{LINK_PREFIX}.1"),
        PrivateLink(second, first, "52:54:00:4c:00:02", f"{LINK_PREFIX}.2"),
    )
