"""`lab boot`: the guest's console on the user's terminal until Ctrl-]."""

import sys
import tempfile
from pathlib import Path

from lab.errors import UsageError
from lab.vm.qemu import MachineSpec, QemuProcess, Sockets

ESCAPE = "\x1d"  # Ctrl-]


def interactive_console(spec: MachineSpec, log_dir: Path) -> int:
    """Boot, hand the console to the terminal, and power off when the user leaves."""
    if not sys.stdin.isatty():
        raise UsageError("lab boot needs a terminal on standard input")
    log_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="faultlab-") as sockdir:
        qemu = QemuProcess(spec, Sockets(Path(sockdir) / "qmp.sock", Path(sockdir) / "agent.sock"),
                           log_dir / f"{spec.arch.name}-console.log")
        print(f"{spec.arch.name} guest booting; Ctrl-] leaves and powers it off; console log: "
              f"{qemu.console_log}", file=sys.stderr)
        try:
            qemu.start(pump=False)
            qemu.child.interact(escape_character=ESCAPE)
        finally:
            qemu.stop()
        print("\nguest powered off", file=sys.stderr)
    return 0
