"""The `lab` command as a user runs it: doctor, run, boot, and errors."""

import json
import os
import signal
import subprocess
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pexpect
import pytest

from lab.history.store import HistoryStore
from tests.labcli import LAB, run_folder


def lab(*args: str, timeout: float = 1800) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*LAB, *args], capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
    )


def qemu_processes() -> list[str]:
    out = subprocess.run(["pgrep", "-a", "qemu-system"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if "faultlab-" in line]


def test_unknown_source_is_a_clear_error():
    result = lab("build", "--source", "nope")
    assert result.returncode == 2
    assert "unknown kernel source 'nope'" in result.stderr
    assert "debian-6.1" in result.stderr


def test_unknown_arch_is_a_clear_error():
    result = lab("build", "--arch", "sparc")
    assert result.returncode == 2
    assert "unknown arch 'sparc'; known: x86_64, ppc64" in result.stderr


def test_doctor_lists_tools_and_kvm_state():
    result = lab("doctor")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "qemu-system-ppc64" in result.stdout
    assert "powerpc64-linux-gnu-gcc" in result.stdout
    assert "KVM probe:" in result.stdout


@pytest.mark.integration
def test_run_writes_results_for_each_arch(kernel, arch, tmp_path):
    result = lab("run", "--arch", arch.name, "--suite", "smoke", "--results", str(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    (run_dir,) = tmp_path.iterdir()
    assert run_folder(result.stdout) == run_dir
    assert f"report: {run_dir}/report.html" in result.stdout
    records = json.loads((run_dir / "results.json").read_text())["records"]
    cases = {(r["suite"], r["case"]): r["state"] for r in records}
    assert cases[("boot", "boot")] == "pass"
    assert cases[("smoke", "smoke/remap_file_pages")] == "pass"
    assert set(cases.values()) == {"pass"}
    suites = ET.parse(run_dir / "junit.xml").getroot().iter("testsuite")
    assert {s.get("name") for s in suites} == {f"{arch.name}.boot", f"{arch.name}.smoke"}
    with HistoryStore(Path(os.environ["FAULTLAB_HISTORY"])) as db:
        recorded = db.run(run_dir.name)
    assert [c.key for c in recorded.cells] == [f"debian-6.1/{arch.name}/none"]
    assert len(recorded.results) == len(records)
    assert (run_dir / arch.name / "boot1-console.log").stat().st_size > 0
    assert "Run /init as init process" in (run_dir / arch.name / "kernel.log").read_text()
    assert (run_dir / arch.name / "smoke.ktap").read_text().startswith("KTAP version 1")
    assert qemu_processes() == []


@pytest.mark.integration
def test_boot_gives_an_interactive_console_and_ctrl_bracket_leaves(kernel, arch, tmp_path):
    child = pexpect.spawn(
        LAB[0],
        [*LAB[1:], "boot", "--arch", arch.name, "--kernel", kernel.id, "--results", str(tmp_path)],
        timeout=120,
        encoding="utf-8",
    )
    try:
        child.expect("faultlab-agent: ready")
        command = f"/lab/bin/smoke --page-size {arch.page_size}"
        child.sendline(command)
        child.expect("ok 5 remap_file_pages")
        child.sendcontrol("]")
        child.expect("guest powered off")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0
    assert qemu_processes() == []
    assert "ok 5 remap_file_pages" in (tmp_path / "boot" / f"{arch.name}-console.log").read_text()


@pytest.mark.integration
@pytest.mark.parametrize("signal_name", ["SIGTERM", "SIGKILL"])
def test_killing_lab_leaves_no_qemu_behind(kernel, arch, tmp_path, signal_name):
    child = pexpect.spawn(
        LAB[0],
        [*LAB[1:], "boot", "--arch", arch.name, "--kernel", kernel.id, "--results", str(tmp_path)],
        timeout=120,
        encoding="utf-8",
    )
    try:
        child.expect("faultlab-agent: ready")
        assert len(qemu_processes()) == 1
        child.kill(getattr(signal, signal_name))
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    deadline = time.monotonic() + 10
    while qemu_processes() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert qemu_processes() == []


@pytest.mark.integration
def test_a_kernel_that_does_not_build_is_infra_not_a_test_failure(kernel, arch, tmp_path):
    series = Path(__file__).parent / "data" / "series" / "does-not-build"
    result = lab(
        "run",
        "--arch",
        arch.name,
        "--suite",
        "smoke",
        "--series",
        str(series),
        "--results",
        str(tmp_path),
    )
    assert result.returncode == 3, result.stdout + result.stderr
    (run_dir,) = tmp_path.iterdir()
    records = json.loads((run_dir / "results.json").read_text())["records"]
    assert [(r["suite"], r["case"], r["state"]) for r in records] == [("smoke", "smoke", "infra")]
    assert records[0]["message"].startswith(f"build: {arch.name} kernel build failed")
    assert "mm/msync.c" in records[0]["details"] and "error:" in records[0]["details"]
    assert json.loads((run_dir / "run.json").read_text())["complete"] is True
