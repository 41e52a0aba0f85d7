"""How `lab run` turns failures into records: infra stays infra, a kernel crash is a fail."""

from pathlib import Path

from lab import job
from lab.arch import get_arch
from lab.errors import BootError, BuildError
from lab.job import RunRequest, boot_failure_records, run_arch
from lab.kernel.build import BuildRequest, KernelBuild
from lab.results.oracle import find_problems, load_allowlist, parse_console
from lab.suites import all_suites

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
    error = BootError("ppc64 guest died while booting",
                      tuple((p.title, p.report) for p in problems))
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
    assert records[0].message == ("build: stress-ng: ldd not found; install the Debian package "
                                  "libc-bin")


def test_stress_ng_on_ppc64_is_a_skip_with_the_reason_and_boots_nothing(tmp_path, monkeypatch):
    ppc64 = get_arch("ppc64")
    kernel = KernelBuild(tmp_path / "kernel", {"id": "k", "arch": "ppc64", "release": "6.1",
                                                "boot_image": "vmlinux"})
    monkeypatch.setattr(job, "build_kernel", lambda request: kernel)
    monkeypatch.setattr(job, "Guest", None)  # booting would fail the test
    request = RunRequest((ppc64,), (all_suites()["stress-ng"],), BuildRequest(ppc64))
    run = run_arch(request, ppc64, tmp_path)
    assert (run.infra, run.boot_s) == ("", [])
    assert {(r.suite, r.state) for r in run.records} == {("stress-ng", "skip")}
    assert len(run.records) == len(all_suites()["stress-ng"].programs)
    assert run.records[0].message.startswith("stress-ng is not available on ppc64: Debian "
                                             "bookworm has no ppc64 binary package")
