"""How `lab run` turns failures into records: infra stays infra, a kernel crash is a fail."""

import json
import socket
from pathlib import Path
from types import SimpleNamespace

from lab.arch import get_arch
from lab.errors import BootError, BuildError
from lab.kernel.build import BuildRequest, KernelBuild
from lab.results.oracle import find_problems, load_allowlist, parse_console
from lab.results.records import CaseRecord
from lab.run import lab_run as job
from lab.run import machine
from lab.run.lab_run import RunRequest, boot_failure_records, run_arch
from lab.run.machine import GuestOptions
from lab.suites.catalogue import all_suites

CONSOLE = Path(__file__).parent / "data" / "console"
PROGRAMS = [p for s in all_suites().values() for p in s.programs]


def test_qemu_failure_is_infra_for_every_program():
    error = BootError("QEMU exited at start; console log: /x/boot1-console.log")
    records = boot_failure_records("ppc64", PROGRAMS, error)
    assert [r.state for r in records] == ["infra"] * len(PROGRAMS)
    assert records[0].message == "boot: QEMU exited at start; console log: /x/boot1-console.log"


def test_build_failure_is_infra():
    records = boot_failure_records("x86_64", PROGRAMS[:1], BuildError("kernel build failed"))
    assert [(r.state, r.message) for r in records] == [("infra", "build: kernel build failed")]


def test_a_kernel_that_crashed_while_booting_fails_the_boot_case():
    """Recorded: a ppc64 boot whose init died in an oops in get_mountpoint()."""
    console = (CONSOLE / "ppc64-boot-oops-get_mountpoint.console.log").read_text()
    problems = find_problems(parse_console(console), load_allowlist())
    error = BootError(
        "ppc64 guest died while booting", tuple((p.title, p.report) for p in problems)
    )
    records = boot_failure_records("ppc64", PROGRAMS, error)
    boot, *rest = records
    assert (boot.suite, boot.case, boot.state) == ("boot", "boot", "fail")
    assert boot.message.startswith("BUG: Unable to handle kernel data access in get_mountpoint")
    assert ".get_mountpoint+0x120/0x164" in boot.details
    assert {r.state for r in rest} == {"infra"}


def test_a_peer_suite_that_does_not_build_leaves_the_others(monkeypatch):
    def build_peer(suite, arch, kernel):
        raise BuildError("stress-ng: ldd not found; install the Debian package libc-bin")

    monkeypatch.setattr(job, "build_peer", build_peer)
    suites = tuple(all_suites()[name] for name in ("smoke", "stress-ng"))
    ok, records = job.buildable_suites(get_arch("x86_64"), suites, None)
    assert [s.name for s in ok] == ["smoke"]
    assert {(r.suite, r.state) for r in records} == {("stress-ng", "infra")}
    assert len(records) == len(suites[1].programs)
    assert records[0].message == (
        "build: stress-ng: ldd not found; install the Debian package libc-bin"
    )


def test_stress_ng_on_ppc64_is_a_skip_with_the_reason_and_boots_nothing(tmp_path, monkeypatch):
    ppc64 = get_arch("ppc64")
    kernel = KernelBuild(
        tmp_path / "kernel", {"id": "k", "arch": "ppc64", "release": "6.1", "boot_image": "vmlinux"}
    )
    monkeypatch.setattr(job, "build_kernel", lambda request: kernel)
    monkeypatch.setattr(job, "Guest", None)  # booting would fail the test
    request = RunRequest((ppc64,), (all_suites()["stress-ng"],), BuildRequest(ppc64))
    run = run_arch(request, ppc64, tmp_path)
    assert (run.infra, run.boot_s) == ("", [])
    assert {(r.suite, r.state) for r in run.records} == {("stress-ng", "skip")}
    assert len(run.records) == len(all_suites()["stress-ng"].programs)
    assert run.records[0].message.startswith(
        "stress-ng is not available on ppc64: Debian bookworm has no ppc64 binary package"
    )


class FakeGuest:
    """A guest that is up at once, its console log named as a real Guest names it."""

    def __init__(self, spec, workdir: Path, name: str = "guest"):
        self.console_log = workdir / f"{name}-console.log"
        self.boot = SimpleNamespace(boot_s=0.5)

    def __enter__(self) -> "FakeGuest":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        pass


def test_run_json_names_the_kernel_and_the_boot_of_each_record(tmp_path, monkeypatch):
    kernel = KernelBuild(
        tmp_path / "kernel",
        {
            "id": "k1",
            "arch": "x86_64",
            "release": "6.1.192+",
            "boot_image": "bzImage",
            "source": "debian-6.1",
            "series": "/lab/patches/selftest/remap-drops-mlock",
            "series_sha256": "5e7",
            "config_sha256": "c0f",
            "flavour": "debug",
            "timeout_factor": 3.0,
        },
    )
    monkeypatch.setattr(job, "build_kernel", lambda request: kernel)
    monkeypatch.setattr(
        machine,
        "build_initramfs",
        lambda arch, suites, kernel, ssh: SimpleNamespace(path=tmp_path / "initramfs", absent={}),
    )
    monkeypatch.setattr(job, "Guest", FakeGuest)
    monkeypatch.setattr(job, "prepare_boot", lambda guest, profile: None)
    monkeypatch.setattr(job, "read_kernel_log", lambda guest, log: [])
    ran: list[str] = []

    def run_program(guest, arch, program, knobs, outdir, kernel_log, profile, timeout_factor):
        assert timeout_factor == 3.0  # the debug kernel's, from its metadata
        ran.append(program.name)
        return SimpleNamespace(program=program, crash="guest panicked" if len(ran) == 1 else "")

    monkeypatch.setattr(job, "run_program", run_program)
    monkeypatch.setattr(
        job,
        "records_for",
        lambda outcome: [
            CaseRecord(
                "x86_64",
                outcome.program.suite,
                f"{outcome.program.name}/kernel",
                "fail" if outcome.crash else "pass",
                0.0,
                outcome.crash,
                "",
            )
        ],
    )
    x86 = get_arch("x86_64")
    suites = (all_suites()["smoke"], all_suites()["fault"])
    request = RunRequest((x86,), suites, BuildRequest(x86), guest=GuestOptions(accel="tcg"))
    run = run_arch(request, x86, tmp_path)
    assert [(r.suite, r.case, r.state) for r in run.records] == [
        ("boot", "boot", "pass"),
        ("smoke", "smoke/kernel", "fail"),
        ("boot", "boot", "pass"),
        ("fault", "fault/kernel", "pass"),
    ]
    assert run.console_logs == ["x86_64/boot1-console.log", "x86_64/boot2-console.log"]
    assert (run.boot_records, run.kernel_log) == ([0, 2], "x86_64/kernel.log")
    assert run.flavour == "debug"
    assert (run.source, run.series, run.patches_hash, run.config_hash, run.build_log) == (
        "debian-6.1",
        "/lab/patches/selftest/remap-drops-mlock",
        "5e7",
        "c0f",
        str(tmp_path / "kernel" / "build.log"),
    )
    job.write_reports(tmp_path, request, [run], "2026-11-22T10:00:00", 3.0, complete=True)
    summary = json.loads((tmp_path / "run.json").read_text())
    assert (summary["started"], summary["mmu"], summary["host"]) == (
        "2026-11-22T10:00:00",
        "",
        socket.gethostname(),
    )
    assert summary["arches"][0]["console_logs"] == run.console_logs
    assert summary["arches"][0]["source"] == "debian-6.1"


def test_a_failed_build_still_names_the_requested_source(tmp_path, monkeypatch):
    def build_kernel(request):
        raise BuildError("x86_64 kernel build failed; log: /cache/trees/x/build.log")

    monkeypatch.setattr(job, "build_kernel", build_kernel)
    x86 = get_arch("x86_64")
    request = RunRequest(
        (x86,),
        (all_suites()["smoke"],),
        BuildRequest(x86, source="debian-6.12", series=Path("patches/p")),
    )
    run = run_arch(request, x86, tmp_path)
    assert (run.source, run.series, run.build_id, run.console_logs) == (
        "debian-6.12",
        "patches/p",
        "",
        [],
    )
    assert {r.message for r in run.records} == {
        "build: x86_64 kernel build failed; log: /cache/trees/x/build.log"
    }
