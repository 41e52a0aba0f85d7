"""`lab boot`: the guest's console on the user's terminal until Ctrl-]; with an SSH port,
the guest's SSH server is started first and how to reach it is printed."""

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from lab.errors import UsageError
from lab.exitcodes import ExitStatus
from lab.results.oracle import find_problems, load_allowlist, parse_console
from lab.scratch import scratch_dir
from lab.vm.guest import Guest
from lab.vm.qemu import MachineSpec, QemuProcess, Sockets
from lab.vm.sshd import SshEndpoint, start_sshd

ESCAPE = "\x1d"  # Ctrl-]


def interactive_console(spec: MachineSpec, log_dir: Path) -> int:
    """Boot, hand the console to the terminal, and power off when the user leaves."""
    if not sys.stdin.isatty():
        raise UsageError("lab boot needs a terminal on standard input")
    log_dir.mkdir(parents=True, exist_ok=True)
    console_log = log_dir / f"{spec.arch.name}-console.log"
    print(
        f"{spec.arch.name} guest booting; Ctrl-] leaves and powers it off; console log: "
        f"{console_log}",
        file=sys.stderr,
    )
    with _booted(spec, log_dir, console_log) as qemu:
        qemu.child.interact(escape_character=ESCAPE)
        left = qemu.alive()  # the user left; else the guest ended by itself
    return session_status(console_log.read_text(errors="replace"), left)


def session_status(console: str, left: bool) -> ExitStatus:
    """How a console session ended: the kernel's reports on its console fail it (a panic
    powers the guest off), a guest that went away without one is the machinery's doing."""
    problems = find_problems(parse_console(console), load_allowlist())
    for problem in problems:
        print(f"\nkernel: {problem.title}", file=sys.stderr)
    if problems:
        print("guest powered off; its kernel reported the problems above", file=sys.stderr)
        return ExitStatus.FAILED
    if not left:
        print("\nthe guest went away by itself (QEMU exited)", file=sys.stderr)
        return ExitStatus.INFRA
    print("\nguest powered off", file=sys.stderr)
    return ExitStatus.OK


@contextmanager
def _booted(spec: MachineSpec, log_dir: Path, console_log: Path) -> Iterator[QemuProcess]:
    """QEMU with its console free for the terminal, stopped at the end. With an SSH port
    the guest boots to its agent, which starts the SSH server, before the console is free."""
    if spec.ssh_port:
        with Guest(spec, log_dir, name=spec.arch.name) as guest:
            endpoint = start_sshd(guest)
            guest.qemu.release_console()
            sys.stdout.write(guest.qemu.console_text())  # the boot so far
            print("\n".join(login_lines(endpoint, spec.arch.name)), flush=True)
            yield guest.qemu
        return
    with scratch_dir("console") as sockdir:
        qemu = QemuProcess(
            spec, Sockets(Path(sockdir) / "qmp.sock", Path(sockdir) / "agent.sock"), console_log
        )
        try:
            qemu.start(pump=False)
            yield qemu
        finally:
            qemu.stop()


def login_lines(endpoint: SshEndpoint, arch_name: str) -> list[str]:
    """How to log in to the guest, and to run the lab's suites in it."""
    key, known_hosts = endpoint.key_file, endpoint.known_hosts
    return [
        "log in:",
        f"  ssh -i {key} -o UserKnownHostsFile={known_hosts} -p {endpoint.port} "
        f"{endpoint.user}@{endpoint.host}",
        "run suites:",
        f"  lab run --target {endpoint.url()} --ssh-key {key} --known-hosts {known_hosts} "
        f"--arch {arch_name}",
    ]
