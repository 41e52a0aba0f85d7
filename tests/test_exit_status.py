"""Programs without KTAP: verdicts from exit status and output, on real recorded output."""

from pathlib import Path

import pytest

from lab.results.exitstatus import ExitStatusRules, exit_status_suite, whole_program_skip
from lab.results.ktap import ProgramStatus, Status, parse_ktap
from lab.results.records import CaseRecord
from lab.run.program import ProgramOutcome, judge, records_for
from lab.suites.catalogue import all_suites
from lab.transport.agent import CommandResult

DATA = Path(__file__).parent / "data" / "peers"
STRESS_NG = all_suites()["stress-ng"]
SELFTESTS = all_suites()["mm-selftests"]
SNG_RULES = STRESS_NG.programs[0].exit_status
KSFT_RULES = SELFTESTS.programs[0].exit_status


def text(name: str) -> str:
    return (DATA / name).read_text()


def exited(value: int) -> ProgramStatus:
    return ProgramStatus("exit", value)


def test_a_stressor_that_worked_passes_with_its_bogo_ops_as_proof():
    suite = exit_status_suite("remap", text("x86_64-stress-ng-remap.out"), exited(0), SNG_RULES)
    (case,) = suite.cases
    assert (case.name, case.status, suite.errors) == ("remap", Status.PASS, [])
    proof = [d for d in case.diagnostics if d.startswith("proof: ")]
    assert proof == [
        "proof: stress-ng: metrc: [30] remap                44     10.06      "
        "0.29      9.40         4.38           4.54"
    ]
    assert "stress-ng: info:  [30] successful run completed in 10.07s" in case.diagnostics


@pytest.mark.parametrize("name", ["fault", "userfaultfd"])
def test_recorded_stressors_pass(name: str):
    suite = exit_status_suite(name, text(f"x86_64-stress-ng-{name}.out"), exited(0), SNG_RULES)
    assert suite.cases[0].status is Status.PASS


def test_a_stressor_with_zero_bogo_ops_fails_although_it_exited_0():
    suite = exit_status_suite("vm-rw", text("x86_64-stress-ng-vm-rw.out"), exited(0), SNG_RULES)
    (case,) = suite.cases
    assert case.status is Status.FAIL
    assert case.reason.startswith("did no work: stress-ng: metrc: [247] vm-rw  ")


def test_a_run_without_a_metrics_row_fails():
    output = text("x86_64-stress-ng-bad-ioctl-as-root.out")
    (case,) = exit_status_suite("bad-ioctl", output, exited(0), SNG_RULES).cases
    assert case.status is Status.FAIL
    assert case.reason.startswith("no output line matches the proof pattern")
    assert "No stress workers invoked (one or more were unsupported)" in case.diagnostics[-2]


@pytest.mark.parametrize(
    "status, verdict, reason",
    [
        (2, Status.FAIL, "program exited with status 2 (one or more stressors failed)"),
        (
            3,
            Status.FAIL,
            "program exited with status 3 (one or more stressors could not start "
            "for lack of resources)",
        ),
        (7, Status.FAIL, "program exited with status 7 (bogo-ops metrics may be untrustworthy)"),
        (4, Status.SKIP, ""),
    ],
)
def test_stress_ng_exit_statuses(status: int, verdict: Status, reason: str):
    output = text("x86_64-stress-ng-remap.out")
    (case,) = exit_status_suite("remap", output, exited(status), SNG_RULES).cases
    assert (case.status, case.reason) == (verdict, reason)


def test_skip_directive_says_what_the_status_means():
    (case,) = exit_status_suite("remap", "", exited(4), SNG_RULES).cases
    assert case.directive == "SKIP not implemented on this arch or kernel"


def test_a_killed_program_crashed():
    (case,) = exit_status_suite("vm", "", ProgramStatus("signal", 9), SNG_RULES).cases
    assert (case.status, case.reason) == (Status.CRASHED, "program killed by signal 9 (SIGKILL)")


def test_a_kselftest_that_failed_keeps_its_error_line():
    output = text("x86_64-6.1-userfaultfd-anon.out")
    (case,) = exit_status_suite("userfaultfd", output, exited(1), KSFT_RULES).cases
    assert (case.status, case.reason) == (Status.FAIL, "program exited with status 1 (KSFT_FAIL)")
    assert case.diagnostics[-2].endswith(
        "ERROR: madvise(MADV_NOHUGEPAGE) failed (errno=22, line=1490)"
    )


def test_a_kselftest_that_prints_ok_passes_without_a_proof_pattern():
    output = text("ppc64-6.1-mremap_dontunmap.out")
    (case,) = exit_status_suite("mremap_dontunmap", output, exited(0), KSFT_RULES).cases
    assert (case.status, case.diagnostics) == (Status.PASS, ["OK"])


def test_6_1_mremap_test_prints_tap_without_a_version_line():
    """Why mremap_test is an exit-status program: as KTAP its output has no results."""
    output = text("x86_64-6.1-mremap_test.out")
    assert parse_ktap(output, program_status=exited(0)).errors == ["no KTAP/TAP version line found"]
    (case,) = exit_status_suite("mremap_test", output, exited(0), KSFT_RULES).cases
    assert case.status is Status.PASS
    assert "# Totals: pass:11 fail:0 xfail:3 xpass:0 skip:0 error:0" in case.diagnostics


def test_a_skipped_plan_is_one_skip_case():
    output = text("x86_64-6.1-soft-dirty.ktap")
    ktap = parse_ktap(output, program_status=exited(4))
    suite = whole_program_skip(ktap, "soft-dirty", output, exited(4), KSFT_RULES)
    (case,) = suite.cases
    assert (case.status, case.directive) == (Status.SKIP, "SKIP soft-dirty is not support")
    assert suite.errors == []


def test_a_skip_status_without_tap_is_a_skip_and_other_statuses_are_not():
    ktap = parse_ktap("opening /dev/userfaultfd failed\n", program_status=exited(4))
    assert whole_program_skip(ktap, "p", "", exited(4), KSFT_RULES).cases[0].status is Status.SKIP
    failed = parse_ktap("", program_status=exited(1))
    assert whole_program_skip(failed, "p", "", exited(1), KSFT_RULES) is failed


def test_no_proof_pattern_means_no_proof_check():
    (case,) = exit_status_suite("p", "", exited(0), ExitStatusRules()).cases
    assert case.status is Status.PASS


def result(program_file: str, value: int, stdout: str = "", stderr: str = "") -> CommandResult:
    return CommandResult((program_file,), "exit", value, stdout.encode(), stderr.encode(), 1.0)


def by_name(suite, name):
    return next(p for p in suite.programs if p.name == name)


def test_judge_reads_stress_ng_from_stderr_and_records_the_verdict():
    program = by_name(STRESS_NG, "stress-ng-remap")
    res = result("stress-ng", 0, stderr=text("x86_64-stress-ng-remap.out"))
    outcome = ProgramOutcome("x86_64", program, res, judge(program, res))
    assert outcome.passed
    case, kernel = records_for(outcome)
    assert (case.case, case.state, case.message) == ("stress-ng-remap/stress-ng-remap", "pass", "")
    assert "proof: stress-ng: metrc: [30] remap" in case.details
    assert (kernel.case, kernel.state) == ("stress-ng-remap/kernel", "pass")


def test_judge_fails_a_stressor_that_did_nothing_with_a_message():
    program = by_name(STRESS_NG, "stress-ng-vm")
    res = result("stress-ng", 0, stderr=text("x86_64-stress-ng-vm-rw.out"))
    outcome = ProgramOutcome("x86_64", program, res, judge(program, res))
    assert not outcome.passed
    case = records_for(outcome)[0]
    assert (case.state, case.message[:12]) == ("fail", "did no work:")


def test_a_whole_program_skip_with_status_4_is_not_a_failure():
    program = by_name(SELFTESTS, "soft-dirty")
    res = result("soft-dirty", 4, stdout=text("x86_64-6.1-soft-dirty.ktap"))
    outcome = ProgramOutcome("x86_64", program, res, judge(program, res))
    assert outcome.passed
    assert records_for(outcome)[0] == CaseRecord(
        "x86_64",
        "mm-selftests",
        "soft-dirty/soft-dirty",
        "skip",
        0.0,
        "SKIP soft-dirty is not support",
        "TAP version 13\n1..0 # SKIP soft-dirty is not support",
    )


def test_a_failed_exit_status_program_is_reported_with_its_status():
    program = by_name(SELFTESTS, "userfaultfd-shmem")
    res = result("userfaultfd", 1, stdout=text("ppc64-6.1-userfaultfd-shmem.out"))
    outcome = ProgramOutcome("ppc64", program, res, judge(program, res))
    assert not outcome.passed
    report = outcome.failure_report()
    assert "program ended with exit 1" in report
    assert "ERROR: UFFDIO_API failed." in report
