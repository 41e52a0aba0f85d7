"""stress-ng from Debian bookworm's binary package, as installed on the host.

The package's dynamically linked /usr/bin/stress-ng goes into the guest with its ELF
interpreter and shared libraries at their usual paths (sharedlibs.py), cached by a hash of
their contents and the package version. Debian has a binary only for its own
architectures, so an arch without one (big-endian ppc64) gets no stress-ng: its programs
are skipped with the reason.
"""

import hashlib
import json
import tempfile
import time
from pathlib import Path

from lab import paths, proc
from lab.arch import ArchProfile
from lab.errors import BuildError, UsageError
from lab.kernel.build import KernelBuild
from lab.kernel.toolchain import require
from lab.peers.artifacts import PeerBuild, entry_dir, load, store
from lab.peers.sharedlibs import runtime_files
from lab.progress import step

RECIPE = 2  # bump when the way the files are collected changes
PACKAGE = "stress-ng"
UNAVAILABLE = (
    "stress-ng is not available on {arch}: Debian bookworm has no {arch} binary "
    "package of it, and the apt mirror does not serve its source tarball (HTTP 404), "
    "so the lab cannot build one"
)


def build(arch: ArchProfile, kernel: KernelBuild, binaries: tuple[str, ...]) -> PeerBuild:
    """stress-ng and the files it loads for `arch` (the kernel does not matter); cached."""
    del kernel  # the same binary serves every kernel
    if binaries != ("stress-ng",):
        raise UsageError(
            f"the stress-ng builder makes the stress-ng binary only, not {', '.join(binaries)}"
        )
    if not arch.runs_host_packages:
        return PeerBuild({}, {"stress-ng": UNAVAILABLE.format(arch=arch.name)})
    start = time.monotonic()
    version = installed_version(arch.debian_arch)
    binary = Path(require_program("stress-ng"))
    libraries = runtime_files(binary)
    inputs = {
        "recipe": RECIPE,
        "package": f"{PACKAGE} {version} {arch.debian_arch}",
        "arch": arch.name,
        "files": {
            name: _sha256(path) for name, path in sorted({**libraries, "stress-ng": binary}.items())
        },
    }
    key = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()
    directory = entry_dir("stress-ng", key)
    cached = load(directory)
    if cached:
        return cached
    scratch = paths.cache_dir("peers", "scratch")
    with (
        tempfile.TemporaryDirectory(prefix="stress-ng-", dir=scratch) as tmp,
        step(f"collecting stress-ng {version} and its {len(libraries)} libraries for {arch.name}"),
    ):
        result = PeerBuild({"stress-ng": binary}, {}, time.monotonic() - start, libraries)
        return store(arch, Path(tmp) / "entry", directory, result, inputs)


def installed_version(debian_arch: str) -> str:
    """The version of the host's stress-ng package, which must be the `debian_arch` one."""
    dpkg_query = require_program("dpkg-query")
    result = proc.run([dpkg_query, "-W", "-f", "${Version} ${Architecture}", PACKAGE], check=False)
    if result.returncode != 0:
        raise BuildError(
            f"the Debian package {PACKAGE} is not installed; install it "
            f"(apt-get install {PACKAGE}, or run `make deps`)"
        )
    version, _, installed = result.stdout.strip().partition(" ")
    if installed != debian_arch:
        raise BuildError(f"the installed {PACKAGE} package is for {installed}, not {debian_arch}")
    return version


def require_program(name: str) -> str:
    """A host program for this builder, or a BuildError naming its package."""
    try:
        return require(name)
    except UsageError as e:
        raise BuildError(f"stress-ng: {e}") from e


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
