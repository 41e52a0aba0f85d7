"""The console watcher ends a command once the kernel reported a fatal problem and its report
is complete; boots that fail are told apart by how far they got (recorded consoles)."""

from pathlib import Path

import pytest

from lab.arch import get_arch
from lab.errors import BootError
from lab.run.boot import judge_boot
from lab.vm.guest import boot_stage
from lab.vm.watch import QUIET_S, REPORT_MAX_S, ConsoleWatch, KernelReported

CONSOLE = Path(__file__).parent / "data" / "console"
X86 = get_arch("x86_64")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def softlockup_console() -> tuple[str, str]:
    """The recorded console up to the provocation, and the rest (the soft lockup report)."""
    text = (CONSOLE / "x86_64-softlockup.console.log").read_text()
    cut = text.index("Performing direct entry SOFTLOCKUP")
    cut = text.index("\n", cut) + 1
    return text[:cut], text[cut:]


def test_a_soft_lockup_ends_the_wait_once_the_console_is_quiet():
    before, report = softlockup_console()
    console = [before]
    clock = Clock()
    watch = ConsoleWatch(lambda: console[0], len(before) - 50, clock=clock)
    for _ in range(10):  # the program runs; nothing fatal yet
        clock.now += 1
        watch.check()
    console[0] = before + report
    clock.now += 1
    watch.check()  # seen, but the report may still be printing
    clock.now += QUIET_S / 2
    watch.check()
    clock.now += QUIET_S
    with pytest.raises(KernelReported) as reported:
        watch.check()
    assert "BUG: soft lockup" in str(reported.value)
    assert reported.value.problems[0].report.count("\n") > 5  # the whole report, with its trace


def test_a_report_that_keeps_printing_ends_the_wait_after_a_bound():
    before, report = softlockup_console()
    clock = Clock()
    text = [before + report]
    watch = ConsoleWatch(lambda: text[0], len(before) - 50, clock=clock)
    watch.check()
    for _ in range(int(REPORT_MAX_S)):
        clock.now += 1
        text[0] += f"[ 99.0] more output {clock.now}\n"  # never quiet
        if clock.now - watch.seen_at < REPORT_MAX_S:
            watch.check()
    clock.now += 1
    with pytest.raises(KernelReported):
        watch.check()


def test_reports_before_the_command_started_and_warnings_do_not_end_it():
    text = (CONSOLE / "x86_64-lkdtm.console.log").read_text()
    cut = text.index("lkdtm: Performing direct entry BUG")
    clock = Clock()
    warning_only = ConsoleWatch(lambda: text[:cut], 0, clock=clock)  # only a WARNING so far
    after = ConsoleWatch(lambda: text, len(text), clock=clock)  # all of it before the start
    for _ in range(20):
        clock.now += 1
        warning_only.check()
        after.check()


@pytest.mark.parametrize(
    ("console", "alive", "stage"),
    [
        ("", True, "silent"),
        ("qemu-system-x86_64: -m 1: memory size too small\n", False, "qemu"),
        ("SeaBIOS (version 1.16.2)\nBooting from ROM...\n", True, "silent"),
        (
            "[    0.000000] Linux version 6.1.192+\n[    0.51] Freeing unused kernel image\n",
            True,
            "kernel",
        ),
        (
            "[    0.000000] Linux version 6.1.192+\n[    1.309607] Run /init as init process\n",
            True,
            "init",
        ),
    ],
)
def test_a_failed_boot_says_how_far_it_got(console, alive, stage):
    assert boot_stage(console, X86, alive) == stage


def no_control() -> bool:
    raise AssertionError("no control boot is needed to tell")


def test_a_silent_boot_or_qemu_that_did_not_start_is_the_lab_s_failure():
    for stage in ("qemu", "silent"):
        error = BootError("x86_64 guest did not reach its agent in 120s", stage=stage)
        verdict = judge_boot(error, no_control)
        assert not verdict.kernel_failed
        assert verdict.reason.startswith("boot: x86_64 guest did not reach its agent")


OOPS = BootError(
    "ppc64 guest died while booting",
    (("BUG: Unable to handle kernel data access in get_mountpoint", "..."),),
    stage="init",
)
HANG = BootError("x86_64 guest did not reach its agent in 120s", stage="init")


@pytest.mark.parametrize(
    ("error", "clean_boots", "kernel_failed", "reason"),
    [
        (OOPS, True, True, "BUG: Unable to handle kernel data access in get_mountpoint"),
        (
            HANG,
            True,
            True,
            "the kernel hung after it started /init (the agent never "
            "answered); a clean kernel boots",
        ),
        (
            OOPS,
            False,
            False,
            "boot: ppc64 guest died while booting (a clean kernel does not "
            "boot with this lab either)",
        ),
        (
            HANG,
            False,
            False,
            "boot: x86_64 guest did not reach its agent in 120s (a clean "
            "kernel does not boot with this lab either)",
        ),
    ],
)
def test_a_kernel_that_printed_is_to_blame_when_a_clean_kernel_boots(
    error, clean_boots, kernel_failed, reason
):
    verdict = judge_boot(error, lambda: clean_boots)
    assert (verdict.kernel_failed, verdict.reason) == (kernel_failed, reason)


def test_a_console_session_that_ended_in_a_panic_fails(capsys):
    from lab.exitcodes import ExitStatus
    from lab.vm.interactive import session_status

    panicked = (CONSOLE / "x86_64-lkdtm.console.log").read_text()
    assert session_status(panicked, left=False) == ExitStatus.FAILED
    assert "kernel: kernel panic: dumptest" in capsys.readouterr().err
    clean = panicked[: panicked.index("lkdtm: Performing direct entry")]
    assert session_status(clean, left=True) == ExitStatus.OK
    assert session_status(clean, left=False) == ExitStatus.INFRA
