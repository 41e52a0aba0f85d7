"""A booted guest: QEMU up, agent answering; commands run through the agent.

Use as a context manager: the QEMU process never outlives the `with` block, also on
exceptions and Ctrl-C (and never outlives the lab process: it gets SIGKILL if we die).
"""

import dataclasses
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from lab.arch import ArchProfile
from lab.errors import BootError, InfraError
from lab.image.disk import make_ext4, make_raw
from lab.progress import note
from lab.results.oracle import find_problems, load_allowlist, parse_console
from lab.scratch import new_scratch_dir, remove_scratch_dir
from lab.suites.layout import GUEST_PATHS
from lab.transport.agent import AgentClient, AgentGone, CommandResult, Hello
from lab.transport.base import HANG_GRACE_S
from lab.vm.qemu import MachineSpec, QemuProcess, Sockets
from lab.vm.watch import ConsoleWatch, KernelReported

EXT4_MOUNT = GUEST_PATHS.ext4
PANIC_MARKERS = ("Kernel panic - not syncing", "---[ end Kernel panic")


BOOT_TAIL_LINES = 40


def boot_stage(console: str, arch: ArchProfile, qemu_alive: bool) -> str:
    """How far a boot that never reached its agent got (see BootError.stage): the kernel
    printed when the console holds printk-stamped lines (QEMU's own complaints have none)."""
    if not any(line.timestamp is not None for line in parse_console(console)):
        return "silent" if qemu_alive else "qemu"
    return "init" if arch.init_marker in console else "kernel"


class GuestCrashed(Exception):
    """The guest kernel panicked or stopped answering while a command ran: a test failure."""

    def __init__(self, message: str, console_log: Path):
        super().__init__(f"{message}; console log: {console_log}")
        self.console_log = console_log


@dataclass(frozen=True)
class BootInfo:
    """What the boot measured."""

    hello: Hello
    boot_s: float


class Guest:
    """One QEMU guest for the duration of a `with` block: the 'console' transport."""

    name = "console"
    paths = GUEST_PATHS

    def __init__(self, spec: MachineSpec, workdir: Path, name: str = "guest"):
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.console_log = workdir / f"{name}-console.log"
        self._sockdir = new_scratch_dir("guest")  # short: sun_path limit
        try:
            spec = self._attach_scratch_disks(spec)
        except BaseException:
            remove_scratch_dir(self._sockdir)
            raise
        self.spec = spec
        self.qemu = QemuProcess(
            spec,
            Sockets(self._sockdir / "qmp.sock", self._sockdir / "agent.sock"),
            self.console_log,
        )
        self.agent: AgentClient | None = None
        self.boot: BootInfo | None = None
        self._command_start = 0  # console offset where the last command began

    def __enter__(self) -> "Guest":
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def start(self) -> None:
        """Start QEMU and wait until the agent answers, within the arch's boot timeout."""
        arch = self.spec.arch
        start = time.monotonic()
        self.qemu.start()
        deadline = start + self.spec.boot_deadline_s
        sock = self._connect_agent(deadline)
        self.agent = AgentClient(sock)
        try:
            hello = self.agent.hello(deadline, alive=self.qemu.alive)
        except TimeoutError:
            raise self._boot_failure(
                f"{arch.name} guest did not reach its agent in {self.spec.boot_deadline_s:.0f}s"
            ) from None
        except AgentGone as e:
            raise self._boot_failure(f"{arch.name} guest died while booting ({e})") from e
        if self.spec.scratch_ext4_mb:
            self._mount_scratch_ext4()
        self.boot = BootInfo(hello, time.monotonic() - start)
        note(
            f"{arch.name} guest up in {self.boot.boot_s:.1f}s: Linux {hello.release}, "
            f"{hello.page_size // 1024}K pages ({self.spec.accel})"
        )

    def _attach_scratch_disks(self, spec: MachineSpec) -> MachineSpec:
        """Fresh per-boot disks first (ext4 then swap), then the spec's own drives."""
        scratch = []
        if spec.scratch_ext4_mb:
            scratch.append(("ext4", make_ext4(self._sockdir / "ext4.img", spec.scratch_ext4_mb)))
        if spec.swap_disk_mb:
            scratch.append(("swap", make_raw(self._sockdir / "swap.img", spec.swap_disk_mb)))
        self.devices = {role: f"/dev/vd{chr(ord('a') + i)}" for i, (role, _) in enumerate(scratch)}
        return dataclasses.replace(spec, drives=(*(path for _, path in scratch), *spec.drives))

    def _mount_scratch_ext4(self) -> None:
        """Mount the scratch disk (the first virtio disk) on EXT4_MOUNT."""
        try:
            result = self.run(["@mount", self.devices["ext4"], EXT4_MOUNT, "ext4"], timeout_s=60)
        except GuestCrashed as e:
            raise self._boot_failure(
                f"{self.spec.arch.name} guest crashed mounting the scratch ext4 disk ({e})"
            ) from e
        if not result.ok:
            raise BootError(
                f"could not mount the scratch ext4 disk on {EXT4_MOUNT}: "
                f"{result.stderr.decode(errors='replace').strip()}; "
                f"console log: {self.console_log}"
            )

    def _connect_agent(self, deadline: float) -> socket.socket:
        path = self.qemu.sockets.agent
        while time.monotonic() < deadline:
            if not self.qemu.alive():
                raise self._boot_failure("QEMU exited at start")
            if path.exists():
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    sock.connect(str(path))
                    return sock
                except OSError:
                    sock.close()
            time.sleep(0.05)
        raise self._boot_failure("QEMU did not open the agent socket")

    def _boot_failure(self, message: str) -> BootError:
        """A BootError naming the console log, with the kernel's own reports if any."""
        self.qemu.settle(1.0)
        console = self.qemu.console_text()
        problems = find_problems(parse_console(console), load_allowlist())
        if problems:
            message += "; kernel: " + "; ".join(p.title for p in problems)
        tail = "\n".join(console.splitlines()[-BOOT_TAIL_LINES:])
        return BootError(
            f"{message}; console log: {self.console_log}\n{tail}",
            tuple((p.title, p.report) for p in problems),
            boot_stage(console, self.spec.arch, self.qemu.alive()),
            tail,
        )

    def run(self, argv: list[str], timeout_s: float | None = None) -> CommandResult:
        """Run a command in the guest and wait for it (default timeout: the arch's).

        A kernel panic, a fatal kernel report on the console (a lockup, a hung task, an RCU
        stall, a BUG, an Oops) or a guest that stops answering raises GuestCrashed (the
        command broke the kernel); QEMU dying without a panic raises InfraError.
        """
        if self.agent is None:
            raise InfraError("guest is not running")
        if timeout_s is None:
            timeout_s = self.spec.arch.command_timeout_s
        deadline = time.monotonic() + timeout_s + HANG_GRACE_S
        self._command_start = len(self.qemu.console_text())
        watch = ConsoleWatch(self.qemu.console_text, self._command_start)
        try:
            return self.agent.run(argv, timeout_s, deadline, watch.check)
        except KernelReported as e:
            self.agent.sock.close()
            self.agent = None
            raise GuestCrashed(
                f"kernel reported {e} while running {argv[0]}", self.console_log
            ) from e
        except (AgentGone, OSError, TimeoutError) as e:
            self.agent = None
            self.qemu.settle()
            console = self.qemu.console_text()
            if any(marker in console for marker in PANIC_MARKERS):
                raise GuestCrashed(f"kernel panic while running {argv[0]}", self.console_log) from e
            if not self.qemu.alive():
                raise InfraError(
                    f"QEMU died while running {argv[0]}; console log: {self.console_log}"
                ) from e
            raise GuestCrashed(
                f"guest stopped answering while running {argv[0]} "
                f"(>{timeout_s + HANG_GRACE_S:.0f}s)",
                self.console_log,
            ) from e

    @property
    def hello(self) -> Hello:
        """The agent's READY line of this boot."""
        if self.boot is None:
            raise InfraError("guest is not running")
        return self.boot.hello

    def crash_evidence(self) -> str:
        """What the console printed since the last command began: where its panic, its
        hang or its kernel report shows."""
        return self.qemu.console_text()[self._command_start :]

    def kmsg(self) -> str:
        """Kernel log records not read by an earlier call (raw /dev/kmsg format)."""
        return self.run(["@kmsg"], timeout_s=30).stdout.decode(errors="replace")

    def close(self) -> None:
        """Power off and make sure QEMU is gone."""
        if self.agent is not None:
            self.agent.sock.close()
            self.agent = None
        self.qemu.stop()
        remove_scratch_dir(self._sockdir)
