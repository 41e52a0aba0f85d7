"""QEMU command lines (pure) and the QEMU process (console through pexpect, QMP)."""

import contextlib
import ctypes
import logging
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pexpect
from qemu.qmp.legacy import QEMUMonitorProtocol

from lab.arch import ArchProfile
from lab.errors import UsageError
from lab.kernel.toolchain import require
from lab.vm.link import PrivateLink

PR_SET_PDEATHSIG = 1
USER_NET_MAC = "52:54:00:12:34:56"  # QEMU's first NIC's MAC: the user-networking NIC
# A QEMU that dies during power-off makes qemu.qmp log a connection error: expected, not news.
logging.getLogger("qemu.qmp").setLevel(logging.CRITICAL)


@dataclass(frozen=True)
class MachineSpec:
    """Everything that defines one boot."""

    arch: ArchProfile
    kernel: Path
    initrd: Path
    memory_mb: int = 1024
    cpus: int = 2
    accel: str = "tcg"
    mmu: str = ""  # ppc64: 'radix' (default) or 'hash'
    cmdline_extra: tuple[str, ...] = ()
    drives: tuple[Path, ...] = ()  # raw virtio disks: /dev/vda, /dev/vdb, ...
    scratch_ext4_mb: int = 64  # a fresh ext4 disk per boot, mounted at /mnt/ext4; 0: none
    swap_disk_mb: int = 0  # a fresh raw disk per boot for swap; 0: none
    ssh_port: int = 0  # host port forwarded to the guest's port 22 (127.0.0.1 only); 0: none
    link: PrivateLink | None = None  # a private link to another guest (lab/vm/link.py)
    boot_timeout_s: float = 0.0  # until the agent answers; 0: the arch's

    @property
    def boot_deadline_s(self) -> float:
        return self.boot_timeout_s or self.arch.boot_timeout_s

    def cmdline(self) -> str:
        """The kernel command line."""
        mmu = self.arch.mmu_options.get(self.mmu, ()) if self.mmu else ()
        parts = [
            f"console={self.arch.console}",
            "panic=-1",
            "printk.time=1",
            "loglevel=7",
            *self.arch.cmdline,
            *mmu,
            *self.cmdline_extra,
        ]
        return " ".join(parts)


@dataclass(frozen=True)
class Sockets:
    """Host-side unix sockets of one boot."""

    qmp: Path
    agent: Path


def qemu_argv(spec: MachineSpec, sockets: Sockets) -> list[str]:
    """The QEMU command line: console on stdio, QMP and the agent port on unix sockets."""
    arch = spec.arch
    if spec.memory_mb % arch.memory_align_mb:
        raise UsageError(
            f"{arch.name} guest RAM must be a multiple of {arch.memory_align_mb} "
            f"MiB ({arch.qemu_machine}), not {spec.memory_mb} MiB"
        )
    cpu = "host" if spec.accel == "kvm" else arch.qemu_cpu  # KVM runs the host's own CPU
    accel = f"tcg,thread={arch.tcg_thread}" if spec.accel == "tcg" else spec.accel
    argv = [
        arch.qemu_binary,
        "-M",
        arch.qemu_machine,
        "-cpu",
        cpu,
        "-accel",
        accel,
        "-m",
        str(spec.memory_mb),
        "-smp",
        str(spec.cpus),
        "-display",
        "none",
        "-vga",
        "none",
        *nic_argv(spec.ssh_port, spec.link),
        "-monitor",
        "none",
        "-serial",
        "stdio",
        "-no-reboot",
        "-kernel",
        str(spec.kernel),
        "-initrd",
        str(spec.initrd),
        "-append",
        spec.cmdline(),
        "-qmp",
        f"unix:{sockets.qmp},server=on,wait=off",
        "-device",
        "virtio-serial-pci,id=vser0",
        "-chardev",
        f"socket,id=agent,path={sockets.agent},server=on,wait=off",
        "-device",
        "virtserialport,bus=vser0.0,chardev=agent,name=lab.agent",
        "-device",
        "virtio-balloon-pci,id=balloon0",
    ]
    for index, drive in enumerate(spec.drives):
        argv += ["-drive", f"file={drive},format=raw,if=virtio,index={index}"]
    return [*argv, *arch.qemu_extra]


def nic_argv(ssh_port: int, link: PrivateLink | None = None) -> list[str]:
    """No NIC; or, with an SSH port, user networking cut off from the outside
    (restrict=on) with the host's 127.0.0.1:<ssh_port> forwarded to the guest's port 22
    (its NIC has QEMU's usual MAC, USER_NET_MAC); and a private link's NIC, if any."""
    if not ssh_port and link is None:
        return ["-nic", "none"]
    argv = [] if link is None else link.qemu_argv()
    if not ssh_port:
        return argv
    if not 0 < ssh_port < 65536:
        raise UsageError(f"SSH port {ssh_port} is not a TCP port")
    return [
        "-netdev",
        f"user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:{ssh_port}-:22",
        "-device",
        f"virtio-net-pci,netdev=net0,mac={USER_NET_MAC}",
        *argv,
    ]


def _die_with_parent() -> None:
    """In the child: get SIGKILL when the lab process dies, whatever the way."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


@dataclass
class QemuProcess:
    """A running QEMU whose console is pumped into a log file by a thread."""

    spec: MachineSpec
    sockets: Sockets
    console_log: Path
    child: pexpect.spawn | None = None
    console: bytearray = field(default_factory=bytearray)
    _pump: threading.Thread | None = None
    _pump_stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self, pump: bool = True) -> None:
        """Spawn QEMU; with `pump`, a thread reads the console so the guest never blocks."""
        argv = qemu_argv(self.spec, self.sockets)
        require(argv[0])
        self._logfile = open(self.console_log, "wb")  # noqa: SIM115 (closed in stop())
        self.child = pexpect.spawn(
            argv[0],
            argv[1:],
            timeout=None,
            echo=False,
            logfile=None,
            preexec_fn=_die_with_parent,
            dimensions=(50, 200),
        )
        self.child.logfile_read = self._logfile
        if pump:
            self._pump = threading.Thread(target=self._read_console, daemon=True)
            self._pump.start()

    def _read_console(self) -> None:
        child = self.child
        while not self._pump_stop.is_set():
            try:
                data = child.read_nonblocking(65536, timeout=0.5)
            except pexpect.TIMEOUT:
                continue
            except (pexpect.EOF, OSError, ValueError):
                return
            with self._lock:
                self.console.extend(data)

    def release_console(self) -> None:
        """Stop the pump thread, so that the console can be handed to a terminal
        (child.interact()); console_text() keeps what it read until then."""
        if self._pump:
            self._pump_stop.set()
            self._pump.join()
            self._pump = None

    def console_text(self) -> str:
        """Everything the console printed so far."""
        with self._lock:
            return self.console.decode(errors="replace")

    def settle(self, timeout_s: float = 3.0) -> None:
        """Give a dying QEMU time to exit and the pump time to read its last words."""
        deadline = time.monotonic() + timeout_s
        while self.alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        if self._pump and not self.alive():
            self._pump.join(timeout=max(0.0, deadline - time.monotonic()))

    def alive(self) -> bool:
        return self.child is not None and self.child.isalive()

    def qmp(self) -> QEMUMonitorProtocol:
        """A connected QMP client (the socket appears shortly after QEMU starts)."""
        deadline = time.monotonic() + 10
        while not self.sockets.qmp.exists():
            if time.monotonic() > deadline or not self.alive():
                raise ConnectionError("QEMU did not open its QMP socket")
            time.sleep(0.05)
        monitor = QEMUMonitorProtocol(str(self.sockets.qmp))
        monitor.connect()
        return monitor

    def stop(self) -> int | None:
        """Power off through QMP, then make sure the process is gone; returns its status."""
        if self.child is None:
            return None
        if self.child.isalive():
            with contextlib.suppress(Exception):
                monitor = self.qmp()
                monitor.settimeout(3)
                monitor.cmd_obj({"execute": "quit"})
                monitor.close()
            deadline = time.monotonic() + 5
            while self.child.isalive() and time.monotonic() < deadline:
                time.sleep(0.05)
        if self.child.isalive():
            self.child.terminate(force=True)
        self.child.close(force=True)
        if self._pump:
            self._pump.join(timeout=2)
        self._logfile.close()
        return (
            self.child.exitstatus
            if self.child.exitstatus is not None
            else -(self.child.signalstatus or 0)
        )
