"""pytest options and fixtures: --arch/--kernel/--source/--series and a `guest` per module.

Every test that uses `guest` has its kernel log checked afterwards: a BUG, WARNING, Oops,
Bad page, soft lockup, hung task or RCU stall fails the test (allow-listed lines aside).
"""

import os
import tempfile
from pathlib import Path

import pytest

from lab.accel import choose_accel
from lab.arch import parse_arches
from lab.image.initramfs import build_initramfs
from lab.kernel.build import BuildRequest, KernelBuild, build_kernel, load_build
from lab.pressure import get_profile
from lab.pressure_session import machine_for
from lab.suites import Knobs, Suite, all_suites, new_knobs, parse_duration
from lab.testing import LabGuest
from lab.vm.qemu import MachineSpec


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("faultlab")
    group.addoption("--arch", default="x86_64,ppc64", help="comma-separated target arches")
    group.addoption("--kernel", default=None,
                    help="use this build (id or artifact dir); single arch only")
    group.addoption("--source", default="debian-6.1", help="kernel source to build")
    group.addoption("--series", default=None, help="patch series to apply")
    group.addoption("--flavour", default="tiny", help="config flavour: tiny or full")
    group.addoption("--config", action="append", default=[], help="extra config fragment")
    group.addoption("--accel", default="auto", help="auto, tcg or kvm")
    group.addoption("--mmu", default="", help="ppc64 MMU: radix or hash")
    group.addoption("--seed", type=int, default=None,
                    help="seed for the randomized suites (default: random, shown in the header)")
    group.addoption("--duration", default="0",
                    help="how long each suite program repeats its cases: 0, 90s, 10m, 1h")
    group.addoption("--pressure", default="none",
                    help="memory-pressure profile (testsuites/pressure/profiles.toml)")


KNOBS = pytest.StashKey[Knobs]()


def pytest_configure(config: pytest.Config) -> None:
    # `lab` commands run by the tests record into a history of the session, not the user's
    if "FAULTLAB_HISTORY" not in os.environ:
        history = Path(tempfile.mkdtemp(prefix="faultlab-test-history-")) / "history.sqlite"
        os.environ["FAULTLAB_HISTORY"] = str(history)
    config.stash[KNOBS] = new_knobs(config.getoption("--seed"),
                                    parse_duration(config.getoption("--duration")))


def pytest_report_header(config: pytest.Config) -> str:
    knobs = config.stash[KNOBS]
    return (f"faultlab: seed {knobs.seed} (--seed {knobs.seed} repeats it), "
            f"suite duration {knobs.duration_s}s")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "arch" in metafunc.fixturenames:
        arches = parse_arches(metafunc.config.getoption("--arch"))
        metafunc.parametrize("arch", arches, ids=[a.name for a in arches], scope="module")


class KernelCache:
    """One build per arch per session."""

    def __init__(self, config: pytest.Config):
        self.config = config
        self.builds: dict[str, KernelBuild] = {}

    def get(self, arch) -> KernelBuild:
        if arch.name not in self.builds:
            opt = self.config.getoption
            if opt("--kernel"):
                build = load_build(opt("--kernel"))
                if build.arch.name != arch.name:
                    raise pytest.UsageError(f"--kernel {build.id} is a {build.arch.name} kernel;"
                                            f" run with --arch {build.arch.name}")
                self.builds[arch.name] = build
            else:
                series = Path(opt("--series")) if opt("--series") else None
                request = BuildRequest(arch=arch, source=opt("--source"), series=series,
                                       flavour=opt("--flavour"),
                                       fragments=tuple(Path(f) for f in opt("--config")))
                # A cold build takes minutes: let its progress lines reach the terminal.
                capture = self.config.pluginmanager.getplugin("capturemanager")
                with capture.global_and_fixture_disabled():
                    self.builds[arch.name] = build_kernel(request)
        return self.builds[arch.name]


@pytest.fixture(scope="session")
def knobs(pytestconfig: pytest.Config) -> Knobs:
    """Seed and duration for the suite programs (--seed, --duration)."""
    return pytestconfig.stash[KNOBS]


@pytest.fixture(scope="session")
def kernels(pytestconfig: pytest.Config) -> KernelCache:
    return KernelCache(pytestconfig)


@pytest.fixture(scope="module")
def kernel(kernels: KernelCache, arch) -> KernelBuild:
    """The kernel under test for `arch`."""
    return kernels.get(arch)


def image_suites(module_file: str) -> list[Suite]:
    """The lab's own suites, plus the peer suite whose tests ask (peer builds take time)."""
    folder = Path(module_file).parent.name
    return [s for s in all_suites().values() if not s.builder or s.name == folder]


@pytest.fixture(scope="module")
def guest(kernel: KernelBuild, arch, knobs: Knobs, pytestconfig, tmp_path_factory, request):
    """A booted guest with the suites' programs, one boot per module (re-booted on crash)."""
    image = build_initramfs(arch, image_suites(request.module.__file__), kernel=kernel)
    profile = get_profile(pytestconfig.getoption("--pressure"))
    spec = machine_for(profile, MachineSpec(
        arch, kernel.boot_image, image.path,
        accel=choose_accel(arch, pytestconfig.getoption("--accel")),
        mmu=pytestconfig.getoption("--mmu")))
    workdir = tmp_path_factory.mktemp(f"{arch.name}-{request.module.__name__.split('.')[-1]}")
    lab_guest = LabGuest(spec, workdir, knobs, profile, absent=image.absent)
    try:
        lab_guest.guest  # boot now, so a boot failure is reported at setup  # noqa: B018
        yield lab_guest
    finally:
        lab_guest.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    """After a test that used a guest, the kernel log of that test is the oracle."""
    guest = getattr(item, "funcargs", {}).get("guest")
    try:
        outcome = yield
    finally:
        problems = guest.kernel_problems() if isinstance(guest, LabGuest) else []
    if problems:
        reports = "\n\n".join(f"{p.title}\n{p.report}" for p in problems)
        pytest.fail(f"kernel log of this test shows problems (log: {guest.kernel_log}):\n"
                    f"{reports}", pytrace=False)
    return outcome
