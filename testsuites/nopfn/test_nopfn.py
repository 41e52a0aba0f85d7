"""The nopfn suite on every selected arch: spufs-style refaults on the lab's emulated SPUs.

The spufs program tests spufs's own mem file and needs Cell hardware: it is not run on x86_64
(skip_on), and in the lab's ppc64 guests, which have no SPUs, its cases skip. The unit tests
below run its builds on the host, where it must skip cleanly too.
"""

import platform
import shutil
import subprocess
from pathlib import Path

import pytest

from lab.arch import get_arch
from lab.errors import UsageError
from lab.image.guest_programs import compile_program
from lab.results.ktap import Case, Status, parse_ktap
from lab.run.lab_guest import assert_program_passed
from lab.suites.catalogue import load_suite
from lab.suites.knobs import Knobs

SUITE = load_suite(Path(__file__).parent)
SPUFS = next(p for p in SUITE.programs if p.name == "spufs")
SPUFS_CASES = ["mmap_write_pread", "pwrite_mmap_read", "refault_after_unmap", "fork_shared"]
NO_SPUFS = "no spufs mounted at /spu (Cell hardware with `mount -t spufs spufs /spu`)"


@pytest.mark.integration
@pytest.mark.parametrize("program", SUITE.programs, ids=lambda p: p.name)
def test_program(guest, program):
    if reason := guest.not_run_reason(program):
        pytest.skip(reason)
    assert_program_passed(guest.run_program(program), allow_skips=program is SPUFS)


def build_spufs(arch: str, cache: Path) -> Path:
    """spufs.c through the lab's own compile path, into a private cache."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("FAULTLAB_CACHE", str(cache))
        try:
            return compile_program(get_arch(arch), SPUFS.source, SPUFS.name)
        except UsageError as e:  # no compiler for this arch
            pytest.skip(str(e))


def run_spufs(command: list[str], arch: str) -> list[Case]:
    """Run a spufs build with the suite's arguments for `arch`; its cases, after checking
    that it printed valid KTAP and exited 0."""
    argv = SPUFS.argv(get_arch(arch), Knobs(seed=7))
    done = subprocess.run([*command, *argv[1:]], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    ktap = parse_ktap(done.stdout)
    assert not ktap.errors, done.stdout
    assert ktap.plan == len(ktap.cases), done.stdout
    return ktap.cases


@pytest.fixture(scope="module")
def host_cases(tmp_path_factory) -> list[Case]:
    """The cases of the x86_64 build, run natively."""
    if platform.machine() != "x86_64":
        pytest.skip("the x86_64 build runs natively only on an x86_64 host")
    binary = build_spufs("x86_64", tmp_path_factory.mktemp("cache"))
    return run_spufs([str(binary)], "x86_64")


def test_spufs_plan_lists_the_four_cases(host_cases):
    assert [c.name for c in host_cases] == SPUFS_CASES


def test_spufs_skips_every_case_off_powerpc(host_cases):
    for case in host_cases:
        assert case.status is Status.SKIP, case
        assert case.directive == "SKIP spufs exists only on powerpc (Cell)"


def test_spufs_skips_every_case_on_powerpc_without_spufs(tmp_path):
    """The ppc64 build under qemu-user, like a lab guest: no spufs at /spu."""
    qemu = shutil.which("qemu-ppc64") or shutil.which("qemu-ppc64-static")
    if not qemu:
        pytest.skip("no qemu-ppc64 (Debian package qemu-user) to run the ppc64 build")
    cases = run_spufs([qemu, str(build_spufs("ppc64", tmp_path))], "ppc64")
    assert [c.name for c in cases] == SPUFS_CASES
    for case in cases:
        assert case.status is Status.SKIP, case
        assert case.directive == f"SKIP {NO_SPUFS}"
