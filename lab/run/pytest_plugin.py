"""The pytest plugin (entry point `pytest11: faultlab`): the lab's options, prefixed (the
vocabulary of `lab run`: --lab-arch, --lab-kernel, --lab-seed, ...), a `kernel` per arch,
a `guest` per test module, a `results` folder per test module that keeps the guest's logs,
the kernel and the seed in pytest's own JUnit (record_property), and the kernel log as an
oracle after every test.

Every test that uses `guest` has its kernel log checked afterwards: a BUG, WARNING, Oops,
Bad page, soft lockup, hung task or RCU stall fails the test (allow-listed lines aside).
"""

import os
from pathlib import Path

import pytest

from lab.arch import ArchProfile, parse_arches
from lab.kernel.build import KernelBuild, build_kernel, load_build
from lab.run import options
from lab.run.lab_guest import LabGuest
from lab.scratch import new_scratch_dir, remove_scratch_dir
from lab.suites.catalogue import Suite, all_suites
from lab.suites.knobs import Knobs

PREFIX = "lab-"
KNOBS = pytest.StashKey[Knobs]()
HISTORY_DIR = pytest.StashKey[Path]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("faultlab")
    options.declare(
        group,
        (
            options.ARCH.but(default="x86_64,ppc64"),
            *options.BUILD_OPTIONS,
            *options.GUEST_OPTIONS,
            *options.KNOB_OPTIONS,
            options.RESULTS.but(
                default=None,
                help="keep the guests' logs here (default: pytest's temporary directories)",
            ),
        ),
        prefix=PREFIX,
    )


def pytest_configure(config: pytest.Config) -> None:
    # `lab` commands run by the tests record into a history of the session, not the user's
    if "FAULTLAB_HISTORY" not in os.environ:
        folder = new_scratch_dir("history")
        config.stash[HISTORY_DIR] = folder
        os.environ["FAULTLAB_HISTORY"] = str(folder / "history.sqlite")
    config.stash[KNOBS] = options.knobs(config.getoption)


def pytest_unconfigure(config: pytest.Config) -> None:
    folder = config.stash.get(HISTORY_DIR, None)
    if folder is not None:
        remove_scratch_dir(folder)
        os.environ.pop("FAULTLAB_HISTORY", None)


def pytest_report_header(config: pytest.Config) -> str:
    knobs = config.stash[KNOBS]
    return (
        f"faultlab: seed {knobs.seed} (--{PREFIX}seed {knobs.seed} repeats it), "
        f"suite duration {knobs.duration_s}s"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "arch" in metafunc.fixturenames:
        arches = parse_arches(metafunc.config.getoption("arch"))
        metafunc.parametrize("arch", arches, ids=[a.name for a in arches], scope="module")


class KernelCache:
    """One build per arch per session."""

    def __init__(self, config: pytest.Config):
        self.config = config
        self.builds: dict[str, KernelBuild] = {}

    def get(self, arch: ArchProfile) -> KernelBuild:
        if arch.name not in self.builds:
            given = self.config.getoption("kernel")
            if given:
                build = load_build(given)
                if build.arch.name != arch.name:
                    raise pytest.UsageError(
                        f"--{PREFIX}kernel {build.id} is a {build.arch.name} "
                        f"kernel; run with --{PREFIX}arch {build.arch.name}"
                    )
                self.builds[arch.name] = build
            else:
                request = options.build_request(self.config.getoption, arch)
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
def kernel(kernels: KernelCache, arch: ArchProfile) -> KernelBuild:
    """The kernel under test for `arch`."""
    return kernels.get(arch)


def image_suites(module_file: str) -> list[Suite]:
    """The lab's own suites, plus the peer suite whose tests ask (peer builds take time)."""
    folder = Path(module_file).parent.name
    return [s for s in all_suites().values() if not s.builder or s.name == folder]


@pytest.fixture(scope="module")
def results(arch: ArchProfile, pytestconfig, tmp_path_factory, request) -> Path:
    """The folder of this module's guest on this arch: console and kernel logs, program
    output (under --lab-results when given, so they outlive the session)."""
    name = f"{arch.name}-{request.module.__name__.split('.')[-1]}"
    root = pytestconfig.getoption("results")
    if root is None:
        return tmp_path_factory.mktemp(name)
    folder = Path(root) / name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def guest(
    kernel: KernelBuild, arch: ArchProfile, knobs: Knobs, results: Path, pytestconfig, request
):
    """A booted guest with the suites' programs, one boot per module (re-booted on crash)."""
    lab_guest = LabGuest.of(
        kernel,
        image_suites(request.module.__file__),
        results,
        knobs,
        options.guest_options(pytestconfig.getoption),
    )
    try:
        lab_guest.guest  # boot now, so a boot failure is reported at setup  # noqa: B018
        yield lab_guest
    finally:
        lab_guest.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    """After a test that used a guest, the kernel log of that test is the oracle; the kernel
    and the seed of a test go into pytest's JUnit as its properties."""
    funcargs = getattr(item, "funcargs", {})
    kernel = funcargs.get("kernel")
    if isinstance(kernel, KernelBuild):
        item.user_properties.append(("faultlab.kernel", f"{kernel.id} {kernel.release}"))
    if "knobs" in funcargs or "guest" in funcargs:
        item.user_properties.append(("faultlab.seed", item.config.stash[KNOBS].seed))
    guest = funcargs.get("guest")
    try:
        outcome = yield
    finally:
        problems = guest.kernel_problems() if isinstance(guest, LabGuest) else []
    if problems:
        reports = "\n\n".join(f"{p.title}\n{p.report}" for p in problems)
        pytest.fail(
            f"kernel log of this test shows problems (log: {guest.kernel_log}):\n{reports}",
            pytrace=False,
        )
    return outcome
