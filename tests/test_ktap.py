"""The KTAP parser, on the kernel's recorded kunit_tool logs and on small KTAP texts."""

from pathlib import Path

import pytest

from lab.results.ktap import Case, ProgramStatus, Status, Suite, parse_ktap

DATA = Path(__file__).parent / "data" / "ktap"


def parse_file(name: str, program_status: ProgramStatus | None = None) -> Suite:
    return parse_ktap((DATA / name).read_text(), program_status=program_status)


def summary(cases: list[Case]) -> list[tuple[str, Status]]:
    return [(case.name, case.status) for case in cases]


def test_all_passed_two_suites_with_diagnostics():
    suite = parse_file("test_is_test_passed-all_passed.log")
    assert (suite.plan, suite.errors) == (2, [])
    assert summary(suite.cases) == [("sysctl_test", Status.PASS), ("example", Status.PASS)]
    sysctl, example = suite.cases
    assert [case.number for case in sysctl.subtests] == list(range(1, 9))
    assert sysctl.subtests[7].name == "sysctl_test_dointvec_single_greater_int_max"
    assert summary(example.subtests) == [
        ("example_simple_test", Status.PASS),
        ("example_mock_test", Status.PASS),
    ]
    assert example.subtests[0].diagnostics == [
        "init_suite",
        "# example_simple_test: initializing",
        "# example_simple_test: example_simple_test passed",
    ]
    assert example.diagnostics == ["kunit example: all tests passed"]


def test_failure_keeps_the_expectation_text_with_the_failed_case():
    suite = parse_file("test_is_test_passed-failure.log")
    example = suite.cases[1]
    assert example.status is Status.FAIL
    assert summary(example.subtests) == [
        ("example_simple_test", Status.FAIL),
        ("example_mock_test", Status.PASS),
    ]
    assert example.subtests[0].diagnostics == [
        "init_suite",
        "# example_simple_test: initializing",
        "# example_simple_test: EXPECTATION FAILED at lib/kunit/example-test.c:30",
        "Expected 1 + 1 == 3, but",
        "        1 + 1 == 2",
        "        3 == 3",
        "# example_simple_test: example_simple_test failed",
    ]
    assert suite.errors == []


def test_three_levels_of_nesting_follow_indentation():
    suite = parse_file("test_is_test_passed-all_passed_nested.log")
    sysctl = suite.cases[0]
    assert [case.name for case in sysctl.subtests] == [
        "sysctl_test_dointvec_null_tbl_data",
        "example",
        "sysctl_test_dointvec_table_len_is_zero",
        "sysctl_test_dointvec_table_read_but_position_set",
    ]
    nested = sysctl.subtests[1]
    assert (nested.number, nested.status) == (2, Status.PASS)
    assert summary(nested.subtests) == [
        ("example_simple_test", Status.PASS),
        ("example_mock_test", Status.PASS),
    ]
    assert suite.errors == []


def test_ktap_version_lines_open_subtests_and_name_them():
    plain = parse_file("test_parse_ktap_output.log")
    assert summary(plain.cases) == [("suite", Status.PASS)]
    assert [case.name for case in plain.cases[0].subtests] == ["case_1", "case_2", "case_3"]
    named = parse_file("test_parse_subtest_header.log")
    assert summary(named.cases) == [("suite", Status.PASS)]
    assert summary(named.cases[0].subtests) == [("test", Status.PASS)]


def test_kselftest_hash_prefixed_nesting():
    suite = parse_file("test_is_test_passed-kselftest.log")
    assert (suite.plan, suite.errors) == (2, [])
    assert [case.name for case in suite.cases] == [
        "selftests: membarrier: membarrier_test_single_thread",
        "selftests: membarrier: membarrier_test_multi_thread",
    ]
    first = suite.cases[0]
    assert first.diagnostics == ["# selftests: membarrier: membarrier_test_single_thread"]
    assert summary(first.subtests) == [
        ("sys_membarrier available", Status.PASS),
        (
            "sys membarrier invalid command test: command = -1, flags = 0, errno = 22."
            " Failed as expected",
            Status.PASS,
        ),
    ]


def test_missing_plan_is_not_an_error():
    suite = parse_file("test_is_test_passed-missing_plan.log")
    assert (suite.plan, suite.errors) == (None, [])
    assert summary(suite.cases) == [("sysctl_test", Status.PASS), ("example", Status.PASS)]
    assert len(suite.cases[0].subtests) == 8


def test_skip_directives():
    some = parse_file("test_skip_tests.log")
    example = some.cases[1]
    assert example.status is Status.PASS
    assert summary(example.subtests) == [
        ("example_simple_test", Status.PASS),
        ("example_skip_test", Status.SKIP),
    ]
    assert example.subtests[1].directive == "SKIP this test should be skipped"
    every = parse_file("test_skip_all_tests.log")
    assert summary(every.cases) == [("string-stream-test", Status.SKIP), ("example", Status.SKIP)]
    assert every.cases[0].directive == "SKIP"
    assert every.cases[0].subtests[0].directive == "SKIP all tests skipped"


def test_hyphen_before_the_name_is_optional():
    suite = parse_file("test_strip_hyphen.log")
    assert [case.name for case in suite.cases] == ["sysctl_test", "example"]
    assert [case.name for case in suite.cases[1].subtests] == ["example_simple_test"]


@pytest.mark.parametrize(
    "name",
    [
        "test_config_printk_time.log",
        "test_multiple_prefixes.log",
        "test_pound_sign.log",
        "test_pound_no_prefix.log",
    ],
)
def test_common_prefix_is_stripped(name: str):
    suite = parse_file(name)
    assert (suite.plan, suite.errors) == (3, [])
    assert summary(suite.cases) == [
        ("kunit-resource-test", Status.PASS),
        ("kunit-try-catch-test", Status.PASS),
        ("string-stream-test", Status.PASS),
    ]
    assert [len(case.subtests) for case in suite.cases] == [5, 2, 3]
    assert suite.cases[0].subtests[4].name == "kunit_resource_test_proper_free_ordering"


def test_stray_lines_become_diagnostics_of_the_next_case():
    suite = parse_file("test_pound_sign.log")
    resource = suite.cases[0]
    assert resource.subtests[3].diagnostics == ["foo bar \t#"]
    assert suite.cases[1].diagnostics == [" foo bar \t# non-kunit output"]


def test_kernel_log_interleaved_with_results():
    suite = parse_file("test_interrupted_tap_output.log")
    assert suite.errors == []
    cleanup = suite.cases[0].subtests[3]
    assert (cleanup.name, cleanup.status) == ("kunit_resource_test_cleanup_resources", Status.PASS)
    assert cleanup.diagnostics == [
        "kAFS: Red Hat AFS client v0.1 registering.",
        "FS-Cache: Netfs 'afs' registered for caching",
        "*** VALIDATE kAFS ***",
        "Btrfs loaded, crc32c=crc32c-generic, debug=on, assert=on, integrity-checker=on,"
        " ref-verify=on",
        "BTRFS: selftest: sectorsize: 4096  nodesize: 4096",
        "BTRFS: selftest: running btrfs free space cache tests",
    ]


def test_kernel_log_before_the_header_is_skipped():
    suite = parse_file("test_output_isolated_correctly.log")
    assert (suite.plan, suite.errors) == (None, [])
    assert summary(suite.cases) == [("example", Status.PASS)]
    assert [case.name for case in suite.cases[0].subtests] == [
        "example_simple_test",
        "example_mock_test",
    ]
    everything = [line for case in suite.cases[0].subtests for line in case.diagnostics]
    assert not any("WARNING" in line for line in everything)


def test_kernel_panic_mid_run_crashes_the_running_case():
    suite = parse_file("test_kernel_panic_interrupt.log")
    assert summary(suite.cases) == [
        ("kunit-resource-test", Status.PASS),
        ("kunit-try-catch-test", Status.PASS),
        ("string-stream-test", Status.CRASHED),
    ]
    stream = suite.cases[2]
    assert summary(stream.subtests) == [
        ("string_stream_test_empty_on_creation", Status.PASS),
        ("case 2 (not reported)", Status.CRASHED),
        ("case 3 (not reported)", Status.CRASHED),
    ]
    panic = "kernel panic: VFS: Unable to mount root fs on unknown-block(98,0)"
    assert stream.subtests[1].reason == f"did not report: {panic}"
    assert stream.subtests[2].reason == "not reported"
    assert stream.reason == "no result line"
    assert suite.errors == ["3: plan 1..3 but only 1 results", "subtest 3 has no result line"]


def test_subtest_header_without_results_is_an_error():
    suite = parse_file("test_is_test_passed-no_tests_no_plan.log")
    assert summary(suite.cases) == [("suite", Status.PASS)]
    assert summary(suite.cases[0].subtests) == [("case", Status.PASS)]
    assert suite.errors == ["1.1: no test results"]


def test_no_header():
    assert parse_file("test_insufficient_memory.log") == Suite(
        "", None, [], [], ["no KTAP/TAP version line found"]
    )
    killed = parse_file(
        "test_is_test_passed-no_tests_run_no_header.log", ProgramStatus("signal", 9)
    )
    assert killed.cases == []
    assert killed.errors == [
        "no KTAP/TAP version line found",
        "program killed by signal 9 (SIGKILL)",
    ]


def test_empty_plan():
    suite = parse_file("test_is_test_passed-no_tests_run_with_header.log")
    assert (suite.plan, suite.cases, suite.errors) == (0, [], [])


def test_plan_larger_than_results_when_the_program_is_killed():
    text = "KTAP version 1\n1..4\nok 1 map\nok 2 fault\n"
    suite = parse_ktap(text, program_status=ProgramStatus("signal", 11))
    assert summary(suite.cases) == [
        ("map", Status.PASS),
        ("fault", Status.PASS),
        ("case 3 (not reported)", Status.CRASHED),
        ("case 4 (not reported)", Status.CRASHED),
    ]
    assert suite.cases[2].reason == "did not report: program killed by signal 11 (SIGSEGV)"
    assert suite.cases[3].reason == "not reported"
    assert suite.errors == ["plan 1..4 but only 2 results"]


def test_truncated_output_without_program_status():
    suite = parse_ktap("TAP version 14\n1..2\nok 1 map\n")
    assert summary(suite.cases) == [("map", Status.PASS), ("case 2 (not reported)", Status.CRASHED)]
    assert suite.cases[1].reason == "did not report: output ended"


def test_timeout_without_plan_adds_the_running_case():
    suite = parse_ktap(
        "KTAP version 1\n# mapping\nok 1 map\n# faulting\n",
        program_status=ProgramStatus("timeout", 30),
    )
    assert summary(suite.cases) == [("map", Status.PASS), ("case 2 (not reported)", Status.CRASHED)]
    assert suite.cases[1].reason == "did not report: program timed out after 30 s"
    assert suite.cases[1].diagnostics == ["# faulting"]
    assert suite.diagnostics == []
    assert suite.errors == []


def test_killed_after_every_planned_result():
    suite = parse_ktap(
        "KTAP version 1\n1..1\nok 1 map\n", program_status=ProgramStatus("signal", 9)
    )
    assert summary(suite.cases) == [("map", Status.PASS)]
    assert suite.errors == ["program killed by signal 9 (SIGKILL) after all planned results"]


def test_nonzero_exit_when_every_case_passed_is_an_error():
    text = "KTAP version 1\n1..1\nok 1 map\n"
    suite = parse_ktap(text, program_status=ProgramStatus("exit", 1))
    assert suite.errors == ["program exited with status 1 although no case failed"]
    failing = parse_ktap(
        "KTAP version 1\n1..1\nnot ok 1 map\n", program_status=ProgramStatus("exit", 1)
    )
    assert (summary(failing.cases), failing.errors) == ([("map", Status.FAIL)], [])
    clean = parse_ktap(text, program_status=ProgramStatus("exit", 0))
    assert clean.errors == []


def test_results_after_a_plan_mismatch_are_kept():
    suite = parse_ktap("KTAP version 1\n1..2\nok 1 a\nok 3 c\nnot ok 4 d\n")
    assert [(case.number, case.name, case.status) for case in suite.cases] == [
        (1, "a", Status.PASS),
        (3, "c", Status.PASS),
        (4, "d", Status.FAIL),
    ]
    assert suite.errors == [
        "expected test number 2, found 3",
        "expected test number 3, found 4",
        "plan 1..2 but 3 results",
    ]


def test_directives():
    suite = parse_ktap(
        "TAP version 13\n1..5\n"
        "not ok 1 flaky # TODO fix the race\n"
        "ok 2 # SKIP no swap device\n"
        "not ok 3 slow # TIMEOUT 30 seconds\n"
        "ok 4 check return code # rcode=0\n"
        "ok 5 # XFAIL expected to fail on ppc64\n"
    )
    assert [(case.name, case.status, case.directive) for case in suite.cases] == [
        ("flaky", Status.SKIP, "TODO fix the race"),
        ("case 2", Status.SKIP, "SKIP no swap device"),
        ("slow", Status.FAIL, "TIMEOUT 30 seconds"),
        ("check return code", Status.PASS, "rcode=0"),
        ("case 5", Status.PASS, "XFAIL expected to fail on ppc64"),
    ]


def test_bail_out_crashes_the_rest():
    suite = parse_ktap("TAP version 13\n1..3\nok 1 a\nBail out! no userfaultfd\nok 2 b\n")
    assert summary(suite.cases) == [
        ("a", Status.PASS),
        ("case 2 (not reported)", Status.CRASHED),
        ("case 3 (not reported)", Status.CRASHED),
    ]
    assert suite.cases[1].reason == "did not report: bail out: no userfaultfd"


def test_skipped_plan_with_kselftest_skip_exit():
    suite = parse_ktap(
        "TAP version 13\n1..0 # SKIP userfaultfd not supported\n",
        program_status=ProgramStatus("exit", 4),
    )
    assert (suite.plan, suite.cases, suite.errors) == (0, [], [])
    assert suite.diagnostics == ["# SKIP userfaultfd not supported"]


def test_unprefixed_ktap_on_a_console_with_kernel_messages():
    console = (
        "[    1.342960] Run /init as init process\n"
        "KTAP version 1\n"
        "1..2\n"
        "[    1.528910] lkdtm: Performing direct entry WARNING\n"
        "ok 1 warning\n"
        "[    2.639161] Kernel panic - not syncing: Fatal exception\n"
        "ok 2 never printed\n"
    )
    suite = parse_ktap(console)
    assert summary(suite.cases) == [
        ("warning", Status.PASS),
        ("case 2 (not reported)", Status.CRASHED),
    ]
    assert suite.cases[0].diagnostics == ["[    1.528910] lkdtm: Performing direct entry WARNING"]
    assert suite.cases[1].reason == "did not report: kernel panic: Fatal exception"


CONSOLE = Path(__file__).parent / "data" / "console"
SMOKE_CASES = [
    "page_size",
    "anon_write_fault",
    "tmpfs_shared_mmap",
    "madvise_dontneed",
    "remap_file_pages",
]


def test_lab_console_with_printk_inside_the_ktap_output():
    """Recorded on the lab's x86_64 guest: a printk lands between results 4 and 5."""
    suite = parse_ktap((CONSOLE / "x86_64-smoke-interleaved.console.log").read_text())
    assert suite.plan == 5
    assert [c.name for c in suite.cases] == SMOKE_CASES
    assert {c.status for c in suite.cases} == {Status.PASS}
    assert suite.errors == []


def test_lab_console_cut_by_a_kernel_panic():
    """Recorded on the lab's x86_64 guest: two results, then a sysrq crash panics it."""
    suite = parse_ktap((CONSOLE / "x86_64-smoke-panic.console.log").read_text())
    assert suite.plan == 5
    assert [(c.name, c.status) for c in suite.cases[:2]] == [
        ("page_size", Status.PASS),
        ("anon_write_fault", Status.PASS),
    ]
    crashed = suite.cases[2:]
    assert [c.status for c in crashed] == [Status.CRASHED] * 3
    assert "kernel panic: sysrq triggered crash" in crashed[0].reason
