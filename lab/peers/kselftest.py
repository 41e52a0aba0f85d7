"""The kernel's own mm selftests, built statically from the source of the kernel under test.

The source is the build's own (metadata "source" and "source_commit"): the parts the
selftests need are exported with `git archive` into a scratch directory, the uapi headers
installed with `make headers_install`, and the selftests' Makefile builds each requested
binary with the arch's cross compiler and -static. The binaries are cached by a hash of
(recipe, source commit, arch, toolchain, binaries, flags). A kernel's patch series is not
applied: the selftests are those of the unpatched source.
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
from lab.kernel.source import resolve_source
from lab.kernel.toolchain import require, toolchain
from lab.peers.artifacts import PeerBuild, entry_dir, load, store
from lab.progress import step

RECIPE = 1  # bump when the way the binaries are made changes
# The mm selftests moved from vm/ to mm/ in 6.3.
SELFTEST_DIRS = ("tools/testing/selftests/mm", "tools/testing/selftests/vm")
EXPORTED = ("Makefile", "scripts", "include", "arch", "usr", "mm", "tools")
# Some tests (6.1's mrelease_test) call syscall(__NR_...) without including <sys/syscall.h>;
# with glibc's headers the number is then their -1 fallback and the test always skips.
EXTRA_CFLAGS = ("-static", "-include", "sys/syscall.h")


def build(arch: ArchProfile, kernel: KernelBuild, binaries: tuple[str, ...]) -> PeerBuild:
    """The requested selftest binaries for `arch`, from `kernel`'s source (cached)."""
    tools = _host_tools(arch)
    commit = kernel.metadata["source_commit"]
    inputs = {
        "recipe": RECIPE,
        "source": kernel.metadata["source"],
        "commit": commit,
        "arch": arch.name,
        "toolchain": toolchain(arch).as_dict(),
        "binaries": sorted(binaries),
        "cflags": EXTRA_CFLAGS,
    }
    key = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()
    directory = entry_dir("kselftest-mm", key)
    cached = load(directory)
    if cached:
        return cached
    try:
        repo = resolve_source(kernel.metadata["source"]).repo
    except UsageError as e:
        raise BuildError(f"mm selftests: the source of kernel {kernel.id} is gone: {e}") from e
    start = time.monotonic()
    scratch = paths.cache_dir("peers", "scratch")
    with (
        tempfile.TemporaryDirectory(prefix="kselftest-", dir=scratch) as tmp,
        step(
            f"building {len(binaries)} mm selftests for {arch.name} from "
            f"{kernel.metadata['source']} {commit[:12]}"
        ),
    ):
        src = Path(tmp) / "src"
        export(tools, repo, commit, src)
        selftests = next((src / d for d in SELFTEST_DIRS if (src / d).is_dir()), None)
        if selftests is None:
            raise BuildError(
                f"mm selftests: {kernel.metadata['source']} has none of {', '.join(SELFTEST_DIRS)}"
            )
        present = [b for b in binaries if (selftests / f"{b}.c").exists()]
        absent = {
            b: f"{b} is not among {selftests.relative_to(src)} of {kernel.metadata['source']}"
            for b in binaries
            if b not in present
        }
        built = {}
        if present:
            headers = Path(tmp) / "headers"
            install_headers(tools["make"], arch, src, headers)
            built = make_selftests(
                tools["make"], arch, selftests, headers, Path(tmp) / "out", present
            )
        result = PeerBuild(built, absent, time.monotonic() - start)
        return store(arch, Path(tmp) / "entry", directory, result, inputs)


def _host_tools(arch: ArchProfile) -> dict[str, str]:
    """The host programs the build runs, or a BuildError naming the package to install."""
    try:
        return {name: require(name) for name in ("git", "tar", "make", "gcc", arch.compiler)}
    except UsageError as e:
        raise BuildError(f"mm selftests: {e}") from e


def export(tools: dict[str, str], repo: Path, commit: str, dest: Path) -> None:
    """The parts of the kernel tree the selftests and headers_install need, at `commit`."""
    dest.mkdir(parents=True)
    archive = Path(dest.parent) / "src.tar"
    try:
        proc.run([tools["git"], "-C", str(repo), "archive", "-o", str(archive), commit, *EXPORTED])
        proc.run([tools["tar"], "-xf", str(archive), "-C", str(dest)])
    except proc.CommandError as e:
        raise BuildError(f"mm selftests: cannot export {commit} from {repo}:\n{e}") from e
    archive.unlink()


def install_headers(make: str, arch: ArchProfile, src: Path, dest: Path) -> None:
    """The kernel's uapi headers for `arch` (make headers_install)."""
    try:
        proc.run(
            [
                make,
                "-C",
                str(src),
                f"ARCH={arch.kernel_arch}",
                f"INSTALL_HDR_PATH={dest}",
                "headers_install",
            ]
        )
    except proc.CommandError as e:
        raise BuildError(
            f"mm selftests: make headers_install failed for {arch.name}:\n{e.output[-3000:]}"
        ) from e


def make_selftests(
    make: str, arch: ArchProfile, selftests: Path, headers: Path, out: Path, binaries: list[str]
) -> dict[str, Path]:
    """Build `binaries` with the selftests' own Makefile; every one must come out."""
    out.mkdir()
    argv = [
        make,
        "-k",
        "-C",
        str(selftests),
        f"ARCH={arch.kernel_arch}",
        f"MACHINE={arch.name}",
        f"CROSS_COMPILE={arch.cross_prefix}",
        f"OUTPUT={out}",
        f"EXTRA_CFLAGS={' '.join(EXTRA_CFLAGS)}",
        f"KHDR_INCLUDES=-isystem {headers}/include",
        *(str(out / b) for b in binaries),
    ]
    result = proc.run(argv, check=False)
    failed = [b for b in binaries if not (out / b).is_file()]
    if failed:
        errors = [line for line in result.stdout.splitlines() if "error" in line.lower()]
        raise BuildError(
            f"mm selftests for {arch.name}: {', '.join(failed)} did not build:\n"
            + "\n".join(errors[:30] or result.stdout.splitlines()[-30:])
        )
    return {b: out / b for b in binaries}
