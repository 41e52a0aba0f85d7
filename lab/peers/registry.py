"""The peer builders by name (a suite.toml's `builder`), and building a suite's binaries."""

from collections.abc import Callable

from lab.arch import ArchProfile
from lab.errors import UsageError
from lab.kernel.build import KernelBuild
from lab.peers import kselftest, stressng
from lab.peers.artifacts import PeerBuild
from lab.suites.catalogue import Suite

Builder = Callable[[ArchProfile, KernelBuild, tuple[str, ...]], PeerBuild]
BUILDERS: dict[str, Builder] = {
    "kselftest-mm": kselftest.build,
    "stress-ng": stressng.build,
}


def build_peer(suite: Suite, arch: ArchProfile, kernel: KernelBuild) -> PeerBuild:
    """The binaries of a peer suite's programs for `arch` and `kernel`."""
    if suite.builder not in BUILDERS:
        raise UsageError(
            f"suite {suite.name}: unknown builder {suite.builder!r}; known: {', '.join(BUILDERS)}"
        )
    binaries = tuple(sorted({p.file for p in suite.programs}))
    return BUILDERS[suite.builder](arch, kernel, binaries)
