"""The kernel-log oracle on recorded LKDTM logs, kernel documentation excerpts and dumps.

Every log in tests/data/kmsg/ and tests/data/console/ that has a NAME.expected
sidecar ("kind | title" per line) is checked against it, so recordings from the
lab's guests can be dropped in with their expectations.
"""

from pathlib import Path

import pytest

from lab.results.oracle import (
    Allowlist,
    KernelLine,
    Problem,
    ProblemKind,
    find_problems,
    load_allowlist,
    parse_console,
    parse_kernel_log,
    parse_kmsg,
)

DATA = Path(__file__).parent / "data"
KMSG = DATA / "kmsg"
EXPECTED = sorted(
    path
    for folder in (DATA / "kmsg", DATA / "console")
    if folder.is_dir()
    for path in folder.glob("*.expected")
)
TAB = "\t"


def expected_problems(path: Path) -> list[tuple[str, str]]:
    rows = [line for line in path.read_text().splitlines() if line and not line.startswith("#")]
    return [tuple(part.strip() for part in row.split("|", 1)) for row in rows]


def problems_in(name: str, allowlist: Allowlist | None = None) -> list[Problem]:
    lines = parse_kernel_log((KMSG / name).read_text())
    return find_problems(lines, allowlist or load_allowlist())


@pytest.mark.parametrize("expected", EXPECTED, ids=[path.stem for path in EXPECTED])
def test_log_gives_the_expected_problems(expected: Path):
    log = expected.with_suffix("")
    problems = find_problems(parse_kernel_log(log.read_text()), load_allowlist())
    assert [(p.kind, p.title) for p in problems] == expected_problems(expected)


def test_every_data_log_has_expectations():
    logs = {path.name for path in KMSG.iterdir() if path.suffix in (".log", ".kmsg")}
    assert {path.with_suffix("").name for path in EXPECTED if path.parent == KMSG} == logs
    assert {"lkdtm-x86_64.kmsg", "lkdtm-x86_64.console.log", "rcu-stall.log"} <= logs


def test_parse_kmsg_records_and_dictionary_lines():
    lines = parse_kmsg((KMSG / "lkdtm-x86_64.kmsg").read_text())
    assert len(lines) == 396
    assert lines[0].seq == 0 and lines[0].level == 5 and lines[0].timestamp == 0.0
    assert lines[0].text.startswith("Linux version 6.1.192 (root@vm)")
    assert not any(line.text.startswith(("SUBSYSTEM=", "DEVICE=")) for line in lines)
    warning = next(line for line in lines if line.text.startswith("WARNING:"))
    assert warning == KernelLine(
        1.072033,
        4,
        165,
        "WARNING: CPU: 0 PID: 1 at drivers/misc/lkdtm/bugs.c:85 lkdtm_WARNING+0x8/0xb",
    )
    assert [line.seq for line in lines] == list(range(396))


def test_parse_kmsg_unescapes_and_splits_multiline_records():
    text = "4,7,1500000,-;first\\x0asecond \\x5c done\n SUBSYSTEM=pci\n"
    assert parse_kmsg(text) == [
        KernelLine(1.5, 4, 7, "first"),
        KernelLine(1.5, 4, 7, "second \\ done"),
    ]


def test_parse_console_keeps_only_kernel_lines_when_timestamped():
    text = (KMSG / "lkdtm-x86_64.console.log").read_text()
    lines = parse_console(text)
    assert len(lines) == 417
    texts = [line.text for line in lines]
    assert "remap_file_pages: 0" in text and "remap_file_pages: 0" not in texts
    assert "Killed" not in texts and "Segmentation fault" not in texts
    remap = next(line for line in lines if "remap_file_pages()" in line.text)
    assert remap == KernelLine(
        1.052032,
        None,
        None,
        "mmap: remap (30) uses deprecated remap_file_pages() syscall."
        " See Documentation/mm/remap_file_pages.rst.",
    )


def test_parse_console_without_timestamps_keeps_every_line():
    lines = parse_console((KMSG / "bug-hunting-warning.log").read_text())
    assert len(lines) == 33
    assert lines[1] == KernelLine(
        None,
        None,
        None,
        "WARNING: CPU: 1 PID: 28102 at kernel/module.c:1108 module_put+0x57/0x70",
    )


def test_parse_kernel_log_tells_the_formats_apart():
    kmsg = parse_kernel_log((KMSG / "lkdtm-x86_64.kmsg").read_text())
    console = parse_kernel_log((KMSG / "lkdtm-x86_64.console.log").read_text())
    assert kmsg[0].seq == 0 and console[0].seq is None
    assert kmsg[0].text == console[0].text


def test_warning_report_spans_cut_here_to_end_trace():
    lines = parse_console((KMSG / "lkdtm-x86_64.console.log").read_text())
    warning = find_problems(lines, load_allowlist())[0]
    assert warning.kind is ProblemKind.WARNING
    assert lines[warning.first_line].text == "------------[ cut here ]------------"
    report = warning.report.splitlines()
    assert (
        report[1] == "WARNING: CPU: 0 PID: 1 at drivers/misc/lkdtm/bugs.c:85 lkdtm_WARNING+0x8/0xb"
    )
    assert "RIP: 0010:lkdtm_WARNING+0x8/0xb" in report
    assert report[-1] == "---[ end trace 0000000000000000 ]---"
    assert len(report) == 34


def test_oops_report_stops_at_its_end_trace():
    problems = problems_in("lkdtm-x86_64.console.log")
    exception = problems[4]
    assert exception.title == "BUG: kernel NULL pointer dereference in lkdtm_EXCEPTION"
    report = exception.report.splitlines()
    assert report[0] == "BUG: kernel NULL pointer dereference, address: 0000000000000000"
    assert "Oops: 0002 [#2] SMP" in report  # the follow-up header belongs to this report
    assert report[-1] == "---[ end trace 0000000000000000 ]---"
    # x86 repeats the first oops' registers after the end marker: not part of this report
    assert "RIP: 0010:lkdtm_BUG+0x0/0x2" not in report


def test_hung_task_report_ends_with_its_stack():
    first, second = problems_in("lkdtm-x86_64.kmsg")[1:3]
    assert first.kind is ProblemKind.HUNG_TASK
    assert first.report.splitlines()[0] == "INFO: task sh:31 blocked for more than 2 seconds."
    assert first.report.splitlines()[-1] == " </TASK>"
    assert second.report.splitlines()[0] == "INFO: task sh:31 blocked for more than 4 seconds."
    assert second.first_line == first.first_line + 23


def test_boxed_sanitizer_report_spans_both_rulers():
    (kasan,) = problems_in("kasan-slab-out-of-bounds.log")
    report = kasan.report.splitlines()
    assert len(report) == 70
    assert report[0] == report[-1] == "=" * 66
    assert "Memory state around the buggy address:" in report


def test_has_symbols():
    console = problems_in("lkdtm-x86_64.console.log")
    assert [p.has_symbols for p in console] == [True] * 7 + [False]  # the panic has no trace
    (nosyms,) = problems_in("constructed-nosyms.log")
    assert nosyms.has_symbols is False
    (rcu,) = problems_in("rcu-stall.log")
    assert rcu.has_symbols is False


def test_default_allowlist_covers_the_benign_lines_of_a_real_log():
    allowlist = load_allowlist()
    assert len(allowlist.patterns) == 4
    lines = parse_console((KMSG / "lkdtm-x86_64.console.log").read_text())
    allowed = [line.text for line in lines if allowlist.allows(line.text)]
    assert allowed == [
        "lkdtm: No crash points registered, enable through debugfs",
        "mmap: remap (30) uses deprecated remap_file_pages() syscall."
        " See Documentation/mm/remap_file_pages.rst.",
        "lkdtm: Performing direct entry WARNING",
        "lkdtm: Performing direct entry HUNG_TASK",
        "lkdtm: Performing direct entry BUG",
        "lkdtm: Performing direct entry EXCEPTION",
        "lkdtm: Performing direct entry WRITE_RO",
        "lkdtm: attempting bad rodata write at ffffffff8183bca0",
        "lkdtm: Performing direct entry SOFTLOCKUP",
    ]


def test_allowlisted_lines_start_no_report():
    allowlist = Allowlist.from_text(
        "# The LKDTM HUNG_TASK test blocks a task on purpose.\n"
        "^INFO: task sh:\\d+ blocked for more than \\d+ seconds\\.$\n"
    )
    titles = [p.title for p in problems_in("lkdtm-x86_64.kmsg", allowlist)]
    assert titles == [
        "WARNING in lkdtm_WARNING",
        "kernel BUG in lkdtm_BUG",
        "BUG: kernel NULL pointer dereference in lkdtm_EXCEPTION",
        "BUG: unable to handle page fault in lkdtm_WRITE_RO",
    ]


def test_allowlisting_never_hides_bug_or_warning_lines():
    everything = Allowlist.from_text("# Far too broad: allows every line.\n.*\n")
    titles = [p.title for p in problems_in("lkdtm-x86_64.console.log", everything)]
    assert titles == [
        "WARNING in lkdtm_WARNING",
        "kernel BUG in lkdtm_BUG",
        "BUG: kernel NULL pointer dereference in lkdtm_EXCEPTION",
        "BUG: unable to handle page fault in lkdtm_WRITE_RO",
        "BUG: soft lockup in lkdtm_SOFTLOCKUP",
    ]
    oops_only = Allowlist.from_text("# Hides Oops lines only.\n^Oops: \n")
    ppc_log = KMSG.parent / "console" / "ppc64-lkdtm.console.log"
    ppc = find_problems(parse_kernel_log(ppc_log.read_text()), oops_only)
    assert [p.title for p in ppc] == [
        "WARNING: nvram corruption detected",  # benign, but this allowlist does not say so
        "WARNING in lkdtm_WARNING",
        "kernel BUG in lkdtm_BUG",
        "BUG: Kernel NULL pointer dereference in lkdtm_EXCEPTION",
        "kernel panic: dumptest",
    ]


def test_allowlist_entries_need_a_comment():
    with pytest.raises(ValueError, match="allowlist line 4: no comment explains 'b'"):
        Allowlist.from_text("# why a is fine\na\n\nb\n")


def kernel_lines(*texts: str) -> list[KernelLine]:
    return [KernelLine(None, None, None, text) for text in texts]


# The reports below are built from the Linux 6.1 printk formats (arch/x86/kernel/traps.c
# GPFSTR, arch/arm64/mm/fault.c die_kernel_fault(), arch/arm64/kernel/traps.c __die(),
# kernel/panic.c) for header forms no recorded log here contains.
def test_general_protection_fault():
    lines = kernel_lines(
        "general protection fault, probably for non-canonical address"
        " 0xdffffc0000000001: 0000 [#1] PREEMPT SMP KASAN",
        "CPU: 0 PID: 52 Comm: sh Not tainted 6.1.192 #1",
        "RIP: 0010:faultlab_walk.constprop.0+0x1c/0x60",
        "Call Trace:",
        " <TASK>",
        " do_syscall_64+0x39/0x46",
        " </TASK>",
        "---[ end trace 0000000000000000 ]---",
        "Kernel panic - not syncing: Fatal exception",
        "Kernel Offset: disabled",
        "---[ end Kernel panic - not syncing: Fatal exception ]---",
    )
    problems = find_problems(lines, load_allowlist())
    assert [(p.kind, p.title, p.first_line) for p in problems] == [
        (ProblemKind.OOPS, "general protection fault in faultlab_walk", 0),
        (ProblemKind.PANIC, "kernel panic: Fatal exception", 8),
    ]
    assert problems[1].report.splitlines()[-1].startswith("---[ end Kernel panic")


def test_arm64_paging_request_absorbs_its_oops_line():
    lines = kernel_lines(
        "Unable to handle kernel paging request at virtual address dead000000000108",
        "Mem abort info:",
        "Internal error: Oops: 0000000096000044 [#1] PREEMPT SMP",
        "pc : list_del+0x1c/0x40",
        "lr : faultlab_release+0x30/0x60",
        "Call trace:",
        " list_del+0x1c/0x40",
        " faultlab_release+0x30/0x60",
        "---[ end trace 0000000000000000 ]---",
    )
    (problem,) = find_problems(lines, load_allowlist())
    assert problem.kind is ProblemKind.OOPS
    assert problem.title == "Unable to handle kernel paging request in list_del"
    assert len(problem.report.splitlines()) == 9


def test_standalone_oops_and_rcu_self_detected_stall():
    lines = kernel_lines(
        "Oops: Exception in kernel mode, sig: 4 [#1]",
        "NIP [c000000000a4f2c8] faultlab_poke+0x8/0x10",
        "rcu: INFO: rcu_sched self-detected stall on CPU",
        f"rcu: {TAB}0-....: (2100 ticks this GP) idle=b4c/1/0x4000000000000000",
        "NMI backtrace for cpu 0",
        "Call Trace:",
        " <IRQ>",
        " dump_stack_lvl+0x45/0x5e",
        " rcu_sched_clock_irq+0x3b2/0x8a0",
        " </IRQ>",
        " <TASK>",
        "RIP: 0010:faultlab_spin+0x4/0x10",
        " </TASK>",
    )
    problems = find_problems(lines, load_allowlist())
    assert [(p.kind, p.title) for p in problems] == [
        (ProblemKind.OOPS, "Oops: Exception in kernel mode in faultlab_poke"),
        (ProblemKind.RCU_STALL, "INFO: rcu detected stall in faultlab_spin"),
    ]


CONSOLE = DATA / "console"


def debug_problems(name: str) -> list[Problem]:
    return find_problems(parse_kernel_log((CONSOLE / name).read_text()), load_allowlist())


def test_debug_kernel_reports_get_syzkaller_titles():
    """A debug-flavour x86_64 guest (tests/data/console/record_debug.py): lockdep, KASAN,
    DEBUG_PAGEALLOC, DEBUG_LIST, KFENCE and page_table_check, each provoked once."""
    problems = debug_problems("x86_64-debug.kmsg")
    assert [(p.kind, p.title) for p in problems] == [
        (ProblemKind.WARNING, "WARNING: possible circular locking dependency detected"),
        (ProblemKind.BUG, "BUG: KASAN: use-after-free in lkdtm_READ_AFTER_FREE"),
        (ProblemKind.BUG, "BUG: KASAN: use-after-free in lkdtm_WRITE_AFTER_FREE"),
        (ProblemKind.BUG, "BUG: KASAN: use-after-free in lkdtm_READ_BUDDY_AFTER_FREE"),
        (ProblemKind.BUG, "BUG: unable to handle page fault in lkdtm_READ_BUDDY_AFTER_FREE"),
        (ProblemKind.BUG, "BUG: corrupted list in lkdtm_CORRUPT_LIST_ADD"),
        (ProblemKind.BUG, "BUG: corrupted list in lkdtm_CORRUPT_LIST_DEL"),
        (ProblemKind.BUG, "BUG: KFENCE: use-after-free read in provoke_write"),
        (ProblemKind.BUG, "kernel BUG in page_table_check_set"),
    ]
    assert all(p.has_symbols for p in problems)


def test_lockdep_report_opens_with_a_ruler_and_ends_with_its_stack():
    lockdep = debug_problems("x86_64-debug.console.log")[0]
    report = lockdep.report.splitlines()
    assert report[0] == "=" * 54 and report[1].startswith("WARNING: possible circular")
    assert " *** DEADLOCK ***" in report
    assert report[-1] == " </TASK>"  # not the rest of the boot up to the next report


def test_list_corruption_message_and_its_warning_are_one_report():
    corrupted = debug_problems("x86_64-debug.kmsg")[5]
    report = corrupted.report.splitlines()
    assert report[0] == "------------[ cut here ]------------"
    assert report[1].startswith("list_add corruption. next->prev should be prev")
    assert report[2].startswith("WARNING: CPU: 0 PID: ")
    assert report[2].endswith("at ../src/lib/list_debug.c:27 __list_add_valid+0x79/0xc1")
    assert report[-1] == "---[ end trace 0000000000000000 ]---"


def test_kasan_report_ends_at_its_closing_ruler_before_the_pagealloc_fault():
    kasan, fault = debug_problems("x86_64-debug.kmsg")[3:5]
    assert kasan.report.splitlines()[-1] == "=" * 66
    assert "The buggy address belongs to the physical page:" in kasan.report
    assert fault.report.splitlines()[0].startswith("BUG: unable to handle page fault for address")
    assert "#PF: supervisor read access in kernel mode" in fault.report


def test_ppc64_debug_reports_match_x86_64_but_page_table_check():
    """Big-endian ppc64 radix has KASAN too; only page_table_check is x86_64's."""
    ppc = [p.title for p in debug_problems("ppc64-debug.kmsg")]
    x86 = [p.title for p in debug_problems("x86_64-debug.kmsg")]
    assert ppc == [
        t.replace("unable to handle page fault", "Unable to handle kernel data access")
        for t in x86
        if "page_table_check" not in t
    ]


def test_a_hash_mmu_guest_runs_without_kasan_but_faults_on_debug_pagealloc():
    log = (CONSOLE / "ppc64-hash-debug.kmsg").read_text()
    assert "KASAN not enabled as it requires radix!" in log
    assert [p.title for p in debug_problems("ppc64-hash-debug.kmsg")] == [
        "BUG: Unable to handle kernel data access in lkdtm_READ_BUDDY_AFTER_FREE",
        "BUG: Unable to handle kernel data access in lkdtm_WRITE_BUDDY_AFTER_FREE",  # memset's
        "BUG: KFENCE: use-after-free read in provoke_write",
    ]


def test_page_poisoning_reports_the_corrupted_page_when_it_is_allocated_again():
    (poison,) = debug_problems("ppc64-poison-debug.console.log")
    assert poison.kind is ProblemKind.BUG
    assert poison.title == "BUG: pagealloc: memory corruption"
    assert len(poison.report.splitlines()) == 200  # a 64K page's hex dump: the report is cut
