"""What runs on a remote target: programs, skips with their reasons, the lab's modules."""

import json
import socket
import subprocess
import sys

import pytest

from lab.arch import get_arch
from lab.errors import UsageError
from lab.remote.modules import TargetModules, kernel_dir_release, lab_build_modules, target_modules
from lab.remote.run import PEER_SKIP, runnable
from lab.suites.catalogue import all_suites

SUITES = tuple(all_suites().values())


def plan(arch: str, modules: TargetModules):
    programs, records = runnable(get_arch(arch), SUITES, modules)
    return {p.name for p in programs}, {r.case.split("/")[0]: r.message for r in records}


def test_without_the_kernel_build_the_module_suites_skip_saying_what_to_give():
    programs, skipped = plan("x86_64", target_modules("", get_arch("x86_64"), "6.1.0"))
    assert {"smoke", "fault", "nonlinear"} <= programs
    assert "nopfn" not in programs
    assert "--target-kernel-build" in skipped["nopfn"]
    assert skipped["stress-ng-remap"] == PEER_SKIP


def test_with_the_module_the_module_suite_runs(tmp_path):
    ko = tmp_path / "faultlab_spu.ko"
    ko.write_bytes(b"\x7fELF")
    programs, skipped = plan("ppc64", TargetModules({"faultlab_spu": ko}))
    assert "nopfn" in programs and "nopfn" not in skipped


def lab_build(tmp_path, arch: str, release: str):
    directory = tmp_path / "0123456789abcdef"
    extra = directory / "modules" / "lib" / "modules" / release / "extra"
    extra.mkdir(parents=True)
    (extra / "faultlab_spu.ko").write_bytes(b"\x7fELF")
    (directory / "metadata.json").write_text(
        json.dumps(
            {"id": directory.name, "arch": arch, "release": release, "boot_image": "bzImage"}
        )
    )
    return directory


def test_a_lab_build_of_the_running_kernel_gives_its_modules(tmp_path):
    build = lab_build(tmp_path, "x86_64", "6.1.192")
    modules = lab_build_modules(str(build), get_arch("x86_64"), "6.1.192")
    assert list(modules.files) == ["faultlab_spu"] and not modules.missing


def test_a_lab_build_of_another_release_is_named_as_the_reason(tmp_path):
    build = lab_build(tmp_path, "x86_64", "6.1.192")
    modules = lab_build_modules(str(build), get_arch("x86_64"), "6.12.5")
    assert not modules.files
    assert modules.missing == (
        "lab build 0123456789abcdef is x86_64 6.1.192; the target runs x86_64 6.12.5"
    )


def test_a_directory_that_is_no_kernel_build_is_refused(tmp_path):
    with pytest.raises(UsageError, match="not a kernel build directory"):
        kernel_dir_release(tmp_path)


def test_a_target_that_refuses_the_connection_is_infra_and_stays_out_of_the_history(tmp_path):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    (tmp_path / "known_hosts").write_text("")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "lab",
            "run",
            "--target",
            f"ssh://root@127.0.0.1:{port}",
            "--known-hosts",
            str(tmp_path / "known_hosts"),
            "--suite",
            "smoke",
            "--results",
            str(tmp_path),
            "--history",
            str(tmp_path / "history.sqlite"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 3, done.stdout + done.stderr
    (run_dir,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    (record,) = json.loads((run_dir / "results.json").read_text())["records"]
    assert record["state"] == "infra"
    assert record["message"].startswith(
        f"target connection: ssh://root@127.0.0.1:{port}: cannot connect"
    )
    assert "not recorded in the history (the target never answered" in done.stderr
    assert not (tmp_path / "history.sqlite").exists()


def test_several_refused_targets_are_each_infra_naming_itself(tmp_path):
    ports = []
    for _ in range(2):
        with socket.socket() as probe:  # ports nothing listens on
            probe.bind(("127.0.0.1", 0))
            ports.append(probe.getsockname()[1])
    (tmp_path / "known_hosts").write_text("")
    targets = [f"ssh://root@127.0.0.1:{port}" for port in ports]
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "lab",
            "run",
            *[arg for target in targets for arg in ("--target", target)],
            "--known-hosts",
            str(tmp_path / "known_hosts"),
            "--suite",
            "smoke",
            "--results",
            str(tmp_path),
            "--history",
            str(tmp_path / "history.sqlite"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 3, done.stdout + done.stderr
    (run_dir,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    records = json.loads((run_dir / "results.json").read_text())["records"]
    assert [(r["target"], r["state"]) for r in records] == [(t, "infra") for t in targets]
    for target, record in zip(targets, records, strict=True):
        assert record["message"].startswith(f"target connection: {target}: cannot connect")
    entries = json.loads((run_dir / "run.json").read_text())["arches"]
    assert [e["target"] for e in entries] == targets
    assert not (tmp_path / "history.sqlite").exists()
