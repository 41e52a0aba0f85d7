"""Applying a pressure profile to a running guest around one program, and proving it.

Per boot: the profile's guest RAM, swap devices (zram, then a virtio-blk disk) and the
page-allocation failure injector (fail_page_alloc, for the tasks that ask for it).
Per program: a memory hog, cache drops and compaction, a cgroup memory.max around the
program, and the host cycling the virtio-balloon through QMP; /proc/vmstat (and the count of
injected failures, as "fail_page_alloc") is read before and after, and the required counters
must have grown.
"""

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

from lab.errors import InfraError
from lab.suites.layout import GUEST_PATHS
from lab.suites.profiles import REPORTED, PressureProfile, not_reached, parse_vmstat, vmstat_delta
from lab.transport.base import run_required
from lab.vm.guest import Guest

LABCTL = GUEST_PATHS.labctl
FAIL_PAGE_ALLOC = "/sys/kernel/debug/fail_page_alloc"
INJECT_BUDGET = 1_000_000  # `times` per program: what is left of it counts the failures
CGROUP = "faultlab-test"
BALLOON_PERIOD_S = 1.0


@dataclass
class PressureReport:
    """What the pressure did while one program ran."""

    profile: str
    delta: dict[str, int] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)  # required counters that did not grow

    def summary(self) -> str:
        """'pswpout +1234, pswpin +56, ...' for the reported counters."""
        return ", ".join(f"{name} +{self.delta[name]}" for name in REPORTED if name in self.delta)


def _teardown(guest: Guest, *args: str) -> None:
    """labctl on the way out; nothing to undo in a guest that already died."""
    if guest.agent is not None:
        _labctl(guest, *args)


def _setup(guest: Guest, argv: list[str], timeout_s: float = 120) -> None:
    """One guest command of the pressure setup; its failure is an infrastructure error."""
    run_required(guest, argv, f"pressure setup failed: {' '.join(argv)}", timeout_s)


def _labctl(guest: Guest, *args: str) -> None:
    _setup(guest, [LABCTL, *args])


def prepare_boot(guest: Guest, profile: PressureProfile) -> None:
    """Swap on zram and on the swap disk, and the failure injector, once per boot."""
    if profile.zram_mb:
        _labctl(guest, "zram", str(profile.zram_mb))
    if profile.swap_disk_mb:
        _labctl(guest, "swap", guest.devices["swap"])
    if profile.fail_page_alloc_percent:
        # Only tasks with make-it-fail set (the suites' memory-touching loops, see
        # inject_faults() in testsuites/lib/ktap.h), every page allocation they make,
        # silently (no stack dump per failure).
        for name, value in (
            ("task-filter", "Y"),
            ("ignore-gfp-wait", "N"),
            ("ignore-gfp-highmem", "N"),
            ("min-order", "0"),
            ("verbose", "0"),
            ("interval", "1"),
            ("times", "-1"),
            ("probability", str(profile.fail_page_alloc_percent)),
        ):
            _write(guest, f"{FAIL_PAGE_ALLOC}/{name}", value)


def _write(guest: Guest, path: str, value: str) -> None:
    _setup(guest, ["@write", path, value], timeout_s=60)


def injected_failures(guest: Guest) -> int:
    """Failures injected since the budget was last set."""
    result = guest.run(["@cat", f"{FAIL_PAGE_ALLOC}/times"], timeout_s=30)
    left = result.stdout.decode(errors="replace").strip()
    if not result.ok or not left.lstrip("-").isdigit():
        raise InfraError(f"cannot read {FAIL_PAGE_ALLOC}/times: {result.describe()} {left!r}")
    return INJECT_BUDGET - int(left)


def wrap_argv(profile: PressureProfile, argv: list[str]) -> list[str]:
    """Run the program inside the profile's cgroup, if it has one."""
    if not profile.cgroup_memory_max_mb:
        return argv
    return [
        LABCTL,
        "run",
        "--cgroup",
        CGROUP,
        "--memory-max",
        str(profile.cgroup_memory_max_mb),
        "--",
        *argv,
    ]


def vmstat(guest: Guest) -> dict[str, int]:
    return parse_vmstat(guest.run(["@cat", "/proc/vmstat"], timeout_s=30).stdout.decode())


class BalloonCycler:
    """A host thread that moves the balloon through the profile's targets until stopped."""

    def __init__(self, guest: Guest, targets_mb: tuple[int, ...]):
        self.guest, self.targets = guest, targets_mb
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._cycle, daemon=True)

    def _cycle(self) -> None:
        with contextlib.closing(self.guest.qemu.qmp()) as monitor:
            step = 0
            while not self.stop_event.is_set():
                target = self.targets[step % len(self.targets)]
                monitor.cmd_obj({"execute": "balloon", "arguments": {"value": target << 20}})
                step += 1
                self.stop_event.wait(BALLOON_PERIOD_S)
            # Give the guest all its memory back.
            monitor.cmd_obj(
                {"execute": "balloon", "arguments": {"value": self.guest.spec.memory_mb << 20}}
            )

    def __enter__(self) -> "BalloonCycler":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop_event.set()
        self.thread.join(timeout=10)


@contextlib.contextmanager
def applied(
    guest: Guest, profile: PressureProfile, exempt: tuple[str, ...] = ()
) -> Iterator[PressureReport]:
    """Hog, churn and balloon around the body; the report is filled in on the way out
    (counters in `exempt` are not required of this program)."""
    report = PressureReport(profile.name)
    if profile.fail_page_alloc_percent:
        _write(guest, f"{FAIL_PAGE_ALLOC}/times", str(INJECT_BUDGET))
    before = vmstat(guest)
    with contextlib.ExitStack() as stack:
        if profile.hog_mb:
            _labctl(guest, "hog", "start", str(profile.hog_mb))
            stack.callback(_teardown, guest, "hog", "stop")
        if profile.churn_interval_ms:
            _labctl(guest, "churn", "start", str(profile.churn_interval_ms))
            stack.callback(_teardown, guest, "churn", "stop")
        if profile.balloon_mb:
            stack.enter_context(BalloonCycler(guest, profile.balloon_mb))
        yield report
    report.delta = vmstat_delta(before, vmstat(guest))
    if profile.fail_page_alloc_percent:
        report.delta["fail_page_alloc"] = injected_failures(guest)
    report.missing = not_reached(profile, report.delta, exempt)
