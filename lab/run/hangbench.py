"""`lab bench --hangs`: how fast a kernel hang ends the program that caused it.

LKDTM's SOFTLOCKUP (a CPU spinning with preemption off) and HUNG_TASK (a task asleep in D
state for good) are provoked in a fresh guest, as a program would; the console watcher
(lab/vm/watch.py) must end the command once the kernel reported it. Figures: seconds from
the provocation to the kernel's report (the kernel's own detector), and from the report to
the command's end (the lab's part).
"""

import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from lab.kernel.build import KernelBuild
from lab.results.oracle import find_problems, load_allowlist, parse_console
from lab.run.machine import GuestOptions, lab_machine
from lab.vm.guest import Guest, GuestCrashed
from lab.vm.watch import FATAL

LKDTM = "/sys/kernel/debug/provoke-crash/DIRECT"
HANGS = ("SOFTLOCKUP", "HUNG_TASK")
TIMEOUT_S = 600.0  # far beyond the hung task detector's 120 s (up to twice that)


@dataclass
class HangFigure:
    """One provoked hang."""

    arch: str
    hang: str
    ended: bool  # the watcher ended the command (else it ran into its timeout)
    message: str
    to_report_s: float  # provocation to the kernel's report (kernel clock)
    report_to_end_s: float  # the report to the command's end (host clock, approximately)
    total_s: float  # provocation to the command's end (host clock)


def stamp_of(console: str, needle: str) -> float | None:
    """The printk time of the first console line holding `needle`."""
    for line in parse_console(console):
        if needle in line.text and line.timestamp is not None:
            return line.timestamp
    return None


def first_report(console: str) -> float | None:
    """The printk time of the first fatal kernel report on the console (a soft lockup can
    show first as an RCU stall)."""
    lines = parse_console(console)
    fatal = [p for p in find_problems(lines, load_allowlist()) if p.kind in FATAL]
    return lines[fatal[0].first_line].timestamp if fatal else None


def provoke(build: KernelBuild, hang: str, workdir: Path, options: GuestOptions) -> HangFigure:
    """Boot, provoke the hang, and time the command's end."""
    spec = lab_machine(build, [], options).spec
    arch = build.arch.name
    with Guest(spec, workdir, name=f"{hang.lower()}") as guest:
        start = time.monotonic()
        try:
            guest.run(["@write", LKDTM, hang], timeout_s=TIMEOUT_S)
            ended, message = False, "the command returned"
        except GuestCrashed as e:
            ended, message = True, str(e).split("; console log")[0]
        total = time.monotonic() - start
        console = guest.qemu.console_text()
    provoked = stamp_of(console, f"Performing direct entry {hang}")
    reported = first_report(console)
    to_report = reported - provoked if provoked is not None and reported is not None else -1.0
    return HangFigure(
        arch,
        hang,
        ended,
        message,
        round(to_report, 1),
        round(total - to_report, 1) if to_report >= 0 else -1.0,
        round(total, 1),
    )


def summarize_hangs(figures: list[HangFigure]) -> str:
    """A line per arch and hang."""
    lines = []
    for f in figures:
        state = "ended by the watcher" if f.ended else "NOT ended by the watcher"
        lines.append(
            f"{f.arch} {f.hang}: report {f.to_report_s:.1f}s after the provocation, "
            f"command end {f.report_to_end_s:.1f}s after the report ({state}: "
            f"{f.message})"
        )
    ends = [f.report_to_end_s for f in figures if f.ended]
    if ends:
        lines.append(f"report to end: median {statistics.median(ends):.1f}s, max {max(ends):.1f}s")
    return "\n".join(lines)
