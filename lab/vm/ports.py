"""Free local ports: TCP for a guest's forwarded SSH port, UDP for a private link's ends."""

import socket


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (the kernel's choice).

    Another process may take it before QEMU binds it; QEMU then exits at start ("could not
    set up host forwarding rule"), a boot failure naming the console log."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def free_udp_port() -> int:
    """A UDP port on 127.0.0.1 that nothing is bound to now (the kernel's choice); as with
    free_port(), QEMU exits at start when another process took it meanwhile."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
