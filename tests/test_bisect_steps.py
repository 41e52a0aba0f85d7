"""One candidate: its build, its runs read from real `lab run` records and kernel logs."""

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from lab.arch.variants import get_variant
from lab.bisect import steps
from lab.bisect.command import BisectOptions, plan_for, series_state
from lab.bisect.policy import RunResult, Signature
from lab.bisect.steps import (
    Built,
    LabBench,
    kernel_digest,
    run_candidate,
    run_result,
    try_candidate,
)
from lab.bisect.target import resolve_target
from lab.errors import PatchError, UsageError
from lab.kernel.build import KernelBuild
from lab.paths import PROJECT_ROOT
from lab.results.records import CaseRecord
from lab.run.lab_run import ArchRun, boot_failure_records
from lab.suites.catalogue import all_suites

DATA = Path(__file__).parent / "data"
RECORDED_RUN = DATA / "runs" / "20261122-105125"
SMOKE = resolve_target("smoke/smoke/remap_file_pages", all_suites())


def recorded_records(changes: dict[str, tuple[str, str]] | None = None) -> list[CaseRecord]:
    """The records of a real ppc64 run, with some cases' (state, message) changed."""
    records = [
        CaseRecord(**r) for r in json.loads((RECORDED_RUN / "results.json").read_text())["records"]
    ]
    return [
        replace(r, state=changes[r.case][0], message=changes[r.case][1])
        if r.case in (changes or {})
        else r
        for r in records
    ]


def run_dir_with_logs(tmp_path: Path, kernel_log: str = "", console: str = "") -> Path:
    """A run directory laid out as `lab run` writes it, with recorded logs."""
    run_dir = tmp_path / "run1"
    (run_dir / "ppc64").mkdir(parents=True)
    if kernel_log:
        shutil.copy(DATA / "console" / kernel_log, run_dir / "ppc64" / "kernel.log")
    if console:
        shutil.copy(DATA / "console" / console, run_dir / "ppc64" / "boot1-console.log")
    (run_dir / "ppc64" / "smoke.ktap").write_text("KTAP version 1\n")
    return run_dir


def arch_run(records: list[CaseRecord], **kwargs) -> ArchRun:
    return ArchRun(
        "ppc64",
        records=records,
        kernel_log="ppc64/kernel.log",
        console_logs=["ppc64/boot1-console.log"],
        **kwargs,
    )


def test_a_passing_recorded_run(tmp_path):
    run_dir = run_dir_with_logs(tmp_path)
    result = run_result(arch_run(recorded_records()), run_dir, SMOKE, 31.0)
    assert (result.state, result.problems, result.infra, result.completed) == ("pass", (), "", True)
    assert result.output == str(run_dir / "ppc64" / "smoke.ktap")
    assert result.kernel_log == str(run_dir / "ppc64" / "kernel.log")


def test_a_failing_case_and_the_kernel_reports_of_its_run(tmp_path):
    run_dir = run_dir_with_logs(
        tmp_path, kernel_log="ppc64-lkdtm.kmsg", console="ppc64-lkdtm.console.log"
    )
    records = recorded_records({"smoke/remap_file_pages": ("fail", "does not show file page 3")})
    result = run_result(arch_run(records), run_dir, SMOKE, 31.0)
    assert (result.state, result.message) == ("fail", "does not show file page 3")
    assert result.problems == (
        "WARNING in lkdtm_WARNING",
        "kernel BUG in lkdtm_BUG",
        "BUG: Kernel NULL pointer dereference in lkdtm_EXCEPTION",
        "kernel panic: dumptest",
    )


def test_a_crash_leaves_the_case_missing_and_the_program_unfinished(tmp_path):
    run_dir = run_dir_with_logs(tmp_path, console="ppc64-lkdtm.console.log")
    records = [r for r in recorded_records() if r.suite != "smoke"]
    records.append(
        CaseRecord(
            "ppc64",
            "smoke",
            "smoke/kernel",
            "fail",
            3.0,
            "guest crashed: kernel panic; kernel BUG in lkdtm_BUG",
            "",
        )
    )
    result = run_result(arch_run(records), run_dir, SMOKE, 31.0)
    assert (result.state, result.completed) == ("missing", False)
    assert result.message.startswith("guest crashed")
    assert "kernel BUG in lkdtm_BUG" in result.problems


def test_a_boot_that_crashed_is_infra_for_the_test_and_a_failed_boot_case(tmp_path):
    from lab.errors import BootError

    run_dir = run_dir_with_logs(tmp_path, console="ppc64-boot-oops-get_mountpoint.console.log")
    smoke = all_suites()["smoke"]
    error = BootError(
        "ppc64 guest did not reach its agent",
        (("BUG: Unable to handle kernel data access in get_mountpoint", "..."),),
    )
    outcome = arch_run(boot_failure_records("ppc64", list(smoke.programs), error), infra=str(error))
    result = run_result(outcome, run_dir, SMOKE, 60.0)
    assert (result.state, result.completed) == ("missing", False)
    assert result.infra == "ppc64 guest did not reach its agent"
    assert "BUG: Unable to handle kernel data access in get_mountpoint" in result.problems
    boot = run_result(outcome, run_dir, resolve_target("boot/boot", all_suites()), 60.0)
    assert (boot.state, boot.completed) == ("fail", False)


def test_pressure_not_reached_is_infra(tmp_path):
    run_dir = run_dir_with_logs(tmp_path)
    records = recorded_records()
    records.insert(
        6,
        CaseRecord(
            "ppc64", "smoke", "smoke/pressure", "infra", 1.0, "pressure not reached: pswpout", ""
        ),
    )
    result = run_result(arch_run(records), run_dir, SMOKE, 31.0)
    assert (result.state, result.infra) == ("pass", "pressure not reached: pswpout")


def test_targets_accept_the_names_history_uses():
    suites = all_suites()
    assert resolve_target("smoke/smoke/remap_file_pages", suites) == SMOKE
    assert resolve_target("smoke/remap_file_pages", suites) == SMOKE
    assert resolve_target("nonlinear/permute_tmpfs", suites).test == (
        "nonlinear/nonlinear/permute_tmpfs"
    )
    boot = resolve_target("boot/boot", suites)
    assert (boot.suite, boot.program, boot.test) == ("smoke", "smoke", "boot/boot")
    with pytest.raises(UsageError, match="unknown test 'nope/x'"):
        resolve_target("nope/x", suites)
    with pytest.raises(UsageError, match="suite smoke has no program 'x'"):
        resolve_target("smoke/x/y", suites)


def fake_build(
    tmp_path: Path, name: str, boot: bytes, vmlinux: bytes, boot_image: str = "bzImage"
) -> KernelBuild:
    directory = tmp_path / name
    directory.mkdir()
    (directory / boot_image).write_bytes(boot)
    (directory / "vmlinux").write_bytes(vmlinux)
    return KernelBuild(directory, {"id": name, "boot_image": boot_image, "arch": "x86_64"})


def test_kernel_digest_covers_boot_image_and_vmlinux(tmp_path):
    a = fake_build(tmp_path, "a", b"boot", b"elf")
    b = fake_build(tmp_path, "b", b"boot", b"elf")
    c = fake_build(tmp_path, "c", b"boot", b"elf2")
    assert kernel_digest(a) == kernel_digest(b) != kernel_digest(c)
    ppc = fake_build(tmp_path, "p", b"elf", b"elf", boot_image="vmlinux")
    assert kernel_digest(ppc) != kernel_digest(a)


def test_a_series_that_does_not_apply_is_a_skipped_candidate(bisect_cache, tmp_path):
    class Bench:
        def build(self, request):
            raise PatchError("patch 0008-x.patch does not apply:\n  mm/mremap.c: hunk #1 FAILED")

        def run(self, built, index, run_dir):
            raise AssertionError("nothing to run")

    state = series_state(
        "debian-6.1",
        PROJECT_ROOT / "patches" / "examples" / "bisect-demo",
        BisectOptions(test="smoke/smoke/remap_file_pages", repeat=1),
    )
    step = try_candidate(
        Bench(), plan_for(state), "8", "bisect", 2, Signature(state.test), 1, tmp_path
    )
    assert (step.verdict, step.runs, step.build_id) == ("skip", [], "")
    assert step.reason == (
        "does not build: PatchError: patch 0008-x.patch does not apply: mm/mremap.c: hunk #1 FAILED"
    )


def test_lab_bench_runs_only_the_tests_program_on_the_prebuilt_kernel(tmp_path, monkeypatch):
    seen = []

    def fake_run_arch(request, arch, run_dir):
        seen.append(request)
        (run_dir / "ppc64").mkdir()
        (run_dir / "ppc64" / "kernel.log").write_text("")
        return arch_run(recorded_records(), build_id="b1")

    monkeypatch.setattr(steps, "run_arch", fake_run_arch)
    bench = LabBench(
        get_variant("ppc64-hash"), SMOKE, pressure="light", timeout_s=90, seed=40, duration_s=0
    )
    (tmp_path / "step" / "run3" / "ppc64").mkdir(parents=True)  # an interrupted run's
    result = bench.run(Built("b1", "/builds/b1", "d", 1.0), 2, tmp_path / "step" / "run3")
    (request,) = seen
    assert request.kernel == "/builds/b1"
    assert (request.guest.mmu, request.guest.pressure, request.knobs.seed) == ("hash", "light", 42)
    (suite,) = request.suites
    assert [(p.name, p.timeout_s) for p in suite.programs] == [("smoke", 90)]
    assert result.state == "pass"
    run_json = json.loads((tmp_path / "step" / "run3" / "run.json").read_text())
    assert run_json["seed"] == 42 and run_json["mmu"] == "hash"
    assert (tmp_path / "step" / "run3" / "results.json").is_file()


def test_on_a_pool_the_runs_a_verdict_needs_start_together(sim, tmp_path):
    """With a fanout (a worker pool) a passing candidate's R runs go at once, and a
    confirmation's too; without one they go one by one, stopping at the first match."""
    test = Signature("smoke/smoke/remap_file_pages")
    bench = sim.Bench(value_of=lambda r: 0, outcome=lambda v, i: RunResult("pass"), fanout=8)
    runs = run_candidate(bench, Built("b0000", "", "d", 0), test, 4, tmp_path)
    assert [r.state for r in runs] == ["pass"] * 4
    assert bench.batches == [[0, 1, 2, 3]]
    flaky = sim.Bench(
        value_of=lambda r: 0,
        fanout=2,
        outcome=lambda v, i: RunResult("pass" if i in (0, 1) else "fail", message="x"),
    )
    runs = run_candidate(flaky, Built("b0000", "", "d", 0), test, 3, tmp_path)
    assert flaky.batches == [[0, 1]] and len(runs) == 3  # then run 3 alone: a match ends it
    one = sim.Bench(value_of=lambda r: 0, outcome=lambda v, i: RunResult("fail", message="x"))
    assert len(run_candidate(one, Built("b0000", "", "d", 0), test, 4, tmp_path)) == 1
    assert one.batches == []
