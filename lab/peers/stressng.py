"""stress-ng from Debian bookworm's source package, cross-built statically per arch.

The upstream tarball comes from the apt mirror, verified against the pinned .dsc (debian.py),
and is built with its own Makefile (STATIC=1, CC=the arch's cross compiler through the lab's
ccache, make -j). The binary does not depend on the kernel, so the cache key is (recipe,
tarball, arch, toolchain, make flags).
"""

import hashlib
import json
import os
import tempfile
import time
from pathlib import Path

from lab import paths, proc
from lab.arch import ArchProfile
from lab.errors import BuildError, UsageError
from lab.kernel.build import KernelBuild
from lab.kernel.toolchain import require, toolchain
from lab.peers.artifacts import PeerBuild, entry_dir, load, store
from lab.peers.debian import SourcePackage, fetch_orig
from lab.progress import step

RECIPE = 1  # bump when the way the binary is made changes
PACKAGE = SourcePackage(
    "stress-ng", "0.15.06-2",
    dsc_sha256="e6dd90893370ebcd62e16c087a8c6619540ec2a3acf2b40c844a7dd0fac18411")
MAKE_FLAGS = ("STATIC=1",)


def build(arch: ArchProfile, kernel: KernelBuild, binaries: tuple[str, ...]) -> PeerBuild:
    """stress-ng for `arch` (the kernel does not matter); cached."""
    del kernel  # the same binary serves every kernel
    if binaries != ("stress-ng",):
        raise UsageError(f"the stress-ng builder makes the stress-ng binary only, not "
                         f"{', '.join(binaries)}")
    try:
        tools = {name: require(name) for name in ("make", "tar", "xz", "ccache", arch.compiler)}
    except UsageError as e:
        raise BuildError(f"stress-ng: {e}") from e
    tarball, sha256 = fetch_orig(PACKAGE)
    inputs = {"recipe": RECIPE, "tarball": tarball.name, "sha256": sha256, "arch": arch.name,
              "toolchain": toolchain(arch).as_dict(), "make": MAKE_FLAGS}
    key = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()
    directory = entry_dir("stress-ng", key)
    cached = load(directory)
    if cached:
        return cached
    start = time.monotonic()
    scratch = paths.cache_dir("peers", "scratch")
    with tempfile.TemporaryDirectory(prefix="stress-ng-", dir=scratch) as tmp, \
            step(f"building stress-ng {PACKAGE.version} for {arch.name} (static)"):
        src = Path(tmp) / "src"
        src.mkdir()
        try:
            proc.run([tools["tar"], "-xf", str(tarball), "-C", str(src),
                      "--strip-components=1"])
        except proc.CommandError as e:
            raise BuildError(f"stress-ng: cannot unpack {tarball}:\n{e}") from e
        binary = make_stress_ng(arch, tools, src)
        result = PeerBuild({"stress-ng": binary}, {}, time.monotonic() - start)
        return store(arch, Path(tmp) / "entry", directory, result, inputs)


def make_stress_ng(arch: ArchProfile, tools: dict[str, str], src: Path) -> Path:
    """Run stress-ng's Makefile (its config probes, then the build) for `arch`."""
    argv = [tools["make"], "-C", str(src), f"-j{os.cpu_count() or 1}", *MAKE_FLAGS,
            f"CC={tools['ccache']} {tools[arch.compiler]}"]
    env = {**os.environ, "CCACHE_DIR": str(paths.cache_dir("ccache")),
           "CCACHE_BASEDIR": str(src), "CCACHE_NOHASHDIR": "1"}
    result = proc.run(argv, env=env, check=False)
    binary = src / "stress-ng"
    if result.returncode != 0 or not binary.is_file():
        errors = [line for line in result.stdout.splitlines()
                  if ": error:" in line or "undefined reference" in line]
        raise BuildError(f"stress-ng build for {arch.name} failed:\n"
                         + "\n".join(errors[:30] or result.stdout.splitlines()[-30:]))
    return binary
