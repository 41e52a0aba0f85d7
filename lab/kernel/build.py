"""Build a kernel: source + series + config -> a cached artifact directory.

Each build tree (source x arch x flavour) is reused, so a changed patch rebuilds
incrementally; the artifact is cached by a content hash of (patched source tree, final
config, toolchain, arch, targets), so an unchanged key never builds twice.
"""

import fcntl
import hashlib
import json
import os
import shlex
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from lab import paths, proc
from lab.arch import ArchProfile, get_arch
from lab.errors import BuildError, InfraError, UsageError
from lab.kernel import config as kconfig
from lab.kernel import coverage, extmod
from lab.kernel.artifacts import ArtifactStore
from lab.kernel.gitrepo import git, run_git
from lab.kernel.inspect import check_identity, inspect_vmlinux
from lab.kernel.series import Series, apply_series, load_series
from lab.kernel.source import Source, resolve_source, source_slug
from lab.kernel.toolchain import require, toolchain
from lab.progress import note, step
from lab.version import lab_identity

RECIPE_VERSION = 3  # bump when the way artifacts are made changes
BUILD_TOOLS = ("make", "flex", "bison", "bc", "ccache", "git", "patch")  # and arch.compiler


@dataclass(frozen=True)
class BuildRequest:
    """What to build."""

    arch: ArchProfile
    source: str = "debian-6.1"
    series: Path | None = None
    flavour: str = "tiny"
    fragments: tuple[Path, ...] = ()
    coverage: bool = False  # gcov counters for mm/ (lab/kernel/coverage.py)
    jobs: int = field(default_factory=lambda: os.cpu_count() or 1)
    # Build in the tree of this source spec instead of the source's own: the commits of a
    # bisect ('git:PATH@SHA', a tree each) share the tree of 'git:PATH' and build
    # incrementally. The artifact does not depend on it.
    tree_of: str = ""

    def reproducer(self) -> str:
        """The lab command line that makes this build."""
        argv = [
            "lab",
            "build",
            "--arch",
            self.arch.name,
            "--source",
            self.source,
            "--flavour",
            self.flavour,
        ]
        if self.series:
            argv += ["--series", str(self.series)]
        for frag in self.fragments:
            argv += ["--config", str(frag)]
        if self.coverage:
            argv.append("--coverage")
        return shlex.join(argv)


@dataclass(frozen=True)
class KernelBuild:
    """A finished build: its artifact directory and what it contains."""

    dir: Path
    metadata: dict

    @property
    def id(self) -> str:
        return self.metadata["id"]

    @property
    def arch(self) -> ArchProfile:
        return get_arch(self.metadata["arch"])

    @property
    def release(self) -> str:
        return self.metadata["release"]

    @property
    def source(self) -> str:
        """The source it was built from, as requested ('debian-6.1', 'git:...')."""
        return self.metadata.get("source", "")

    @property
    def series(self) -> str:
        """The path of its patch series ('' without one)."""
        return self.metadata.get("series") or ""

    @property
    def patches_hash(self) -> str:
        """The sha256 of its patches ('' without a series)."""
        return self.metadata.get("series_sha256") or ""

    @property
    def config_hash(self) -> str:
        """The sha256 of its final .config."""
        return self.metadata.get("config_sha256", "")

    @property
    def cmdline(self) -> tuple[str, ...]:
        """Boot options its flavour needs (page_poison=1, ...)."""
        return tuple(self.metadata.get("cmdline", ()))

    @property
    def timeout_factor(self) -> float:
        """How much longer programs may take on it than on a tiny kernel."""
        return float(self.metadata.get("timeout_factor", 1.0))

    @property
    def boot_image(self) -> Path:
        return self.dir / self.metadata["boot_image"]

    @property
    def vmlinux(self) -> Path:
        return self.dir / "vmlinux"

    @property
    def modules_dir(self) -> Path:
        return self.dir / "modules"


def builds_root() -> Path:
    return paths.cache_dir("builds")


class DamagedBuild(InfraError):
    """A build cache entry that is not what its build left."""

    def __init__(self, directory: Path, damage: str):
        super().__init__(
            f"build cache entry {directory} is damaged: {damage}; remove the "
            "directory to build it again"
        )
        self.damage = damage


# The artifacts whose sha256 metadata.json records, checked whenever a build is loaded.
CHECKED_FILES = ("config", "System.map", "vmlinux")


def load_build(ref: str, check: bool = True) -> KernelBuild:
    """A finished build by id (or unique id prefix) or by its artifact directory; a cache
    entry that is damaged (metadata.json unreadable, with `check` an artifact missing or
    not the bytes it recorded) is DamagedBuild, an InfraError."""
    if "/" in ref or ref.startswith((".", "~")):  # a directory
        directory = Path(ref).expanduser()
        if not (directory / "metadata.json").exists():
            what = "is not a directory" if not directory.is_dir() else "holds no metadata.json"
            raise UsageError(
                f"kernel {ref}: {directory} {what} (give a build id or a lab "
                "build's artifact directory)"
            )
    else:
        matches = [d for d in builds_root().glob(f"{ref}*") if (d / "metadata.json").exists()]
        if len(matches) != 1:
            what = "no build" if not matches else f"{len(matches)} builds"
            raise UsageError(f"{what} matching {ref!r} in {builds_root()}")
        directory = matches[0]
    build = KernelBuild(directory, read_metadata(directory))
    if check:
        check_artifacts(build)
    return build


def read_metadata(directory: Path) -> dict:
    """metadata.json of a build directory, or DamagedBuild naming the damage."""
    try:
        metadata = json.loads((directory / "metadata.json").read_text())
        if not isinstance(metadata, dict) or not {"id", "arch"} <= set(metadata):
            raise ValueError("its id or arch is missing")
    except (OSError, ValueError) as e:
        raise DamagedBuild(directory, f"metadata.json: {e}") from e
    return metadata


def file_digests(directory: Path, names: tuple[str, ...]) -> dict[str, str]:
    """sha256 of each named file of a directory."""
    digests = {}
    for name in names:
        digest = hashlib.sha256()
        with open(directory / name, "rb") as f:
            for chunk in iter(lambda f=f: f.read(1 << 20), b""):
                digest.update(chunk)
        digests[name] = digest.hexdigest()
    return digests


def check_artifacts(build: KernelBuild) -> None:
    """The artifacts are there and are the bytes metadata.json recorded (builds made before
    it recorded them are only checked to be there)."""
    recorded: dict[str, str] = build.metadata.get("files", {})
    names = tuple(dict.fromkeys((build.metadata.get("boot_image", "bzImage"), *CHECKED_FILES)))
    missing = [name for name in names if not (build.dir / name).is_file()]
    try:
        actual = file_digests(build.dir, tuple(recorded)) if recorded and not missing else {}
    except OSError as e:
        missing.append(f"{e.filename} ({e.strerror})")
        actual = {}
    changed = [name for name, digest in recorded.items() if actual.get(name, digest) != digest]
    if missing or changed:
        what = "; ".join(
            [
                *(f"{n} is missing" for n in missing),
                *(f"{n} is not the file it built" for n in changed),
            ]
        )
        raise DamagedBuild(build.dir, what)


def cached_build(artifact: Path) -> KernelBuild | None:
    """The build in the cache entry, if there is one; a damaged entry is removed (and said
    so), to be built again."""
    if not artifact.exists():
        return None
    try:
        return load_build(str(artifact))
    except DamagedBuild as e:
        note(f"build cache entry {artifact} is damaged ({e.damage}): building it again")
        shutil.rmtree(artifact)
        return None


def ensure_build(build_id: str, store: ArtifactStore | None) -> KernelBuild:
    """The build from this machine's cache, or from the store into the cache."""
    artifact = builds_root() / build_id
    if not (artifact / "metadata.json").exists() and (
        store is None or not store.fetch_build(build_id, artifact)
    ):
        raise InfraError(
            f"kernel {build_id} is neither in {builds_root()} nor in the artifact store"
        )
    return load_build(str(artifact))


@dataclass(frozen=True)
class BuildTree:
    """A reusable source checkout and its out-of-tree object directory."""

    root: Path

    @property
    def src(self) -> Path:
        return self.root / "src"

    @property
    def out(self) -> Path:
        return self.root / "out"


@dataclass(frozen=True)
class Prepared:
    """A build tree checked out, patched and configured for one request."""

    tree: BuildTree
    source: Source
    series: Series | None
    fragments: tuple[Path, ...]
    tree_hash: str
    config_text: str
    timings: dict[str, float]


@contextmanager
def prepared_tree(request: BuildRequest) -> Iterator[Prepared]:
    """Lock the request's build tree, check out the source, apply the series, configure."""
    arch = request.arch
    for program in BUILD_TOOLS:
        require(program)
    series = load_series(request.series) if request.series else None
    fragments = kconfig.fragments_for(arch, request.fragments, request.flavour)
    if request.coverage:
        fragments += (coverage.FRAGMENT,)
    source = resolve_source(request.source)
    with build_tree(build_tree_name(request, source)) as tree:
        start = time.monotonic()
        prepare_tree(tree.src, source.repo, source.commit)
        if series:
            with step(f"applying {len(series.names)} patch(es) from {series.path}"):
                apply_series(tree.src, series)
        if request.coverage:
            coverage.instrument(tree.src)
        tree_hash = git(tree.src, "rev-parse", "HEAD^{tree}")
        prepare_s = time.monotonic() - start
        start = time.monotonic()
        with step(f"configuring {arch.name} ({request.flavour})"):
            config_text = configure(tree, arch, request.flavour, fragments)
        timings = {"prepare_s": prepare_s, "config_s": time.monotonic() - start}
        yield Prepared(tree, source, series, fragments, tree_hash, config_text, timings)


def build_tree_name(request: BuildRequest, source: Source) -> str:
    """One reusable tree per source (or `tree_of`), arch, flavour and coverage: switching
    between them would rebuild everything."""
    slug = source_slug(request.tree_of) if request.tree_of else source.slug
    return f"{slug}-{request.arch.name}-{request.flavour}" + ("-gcov" * request.coverage)


def configure_kernel(request: BuildRequest) -> str:
    """The verified final .config of a request, without building."""
    with prepared_tree(request) as prepared:
        return prepared.config_text


def build_kernel(request: BuildRequest, store: ArtifactStore | None = None) -> KernelBuild:
    """Prepare the tree, configure, and build unless the artifact is cached here or, with
    a shared `store`, there (a build made here is then shared through it)."""
    arch = request.arch
    tools = toolchain(arch)
    flavour = kconfig.get_flavour(request.flavour)
    with prepared_tree(request) as prepared:
        tree, source, series = prepared.tree, prepared.source, prepared.series
        tree_hash, config_text = prepared.tree_hash, prepared.config_text
        fragments, timings = prepared.fragments, dict(prepared.timings)

        config_sha256 = hashlib.sha256(config_text.encode()).hexdigest()
        module_dirs = extmod.module_dirs()
        key = hashlib.sha256(
            json.dumps(
                {
                    "lab_modules": extmod.sources_digest(module_dirs),
                    "recipe": RECIPE_VERSION,
                    "arch": arch.name,
                    "tree": tree_hash,
                    "config": config_sha256,
                    "toolchain": tools.as_dict(),
                    "targets": arch.build_targets,
                    # what the flavour adds to every boot (absent for none: older keys hold)
                    **({"cmdline": list(flavour.cmdline)} if flavour.cmdline else {}),
                },
                sort_keys=True,
            ).encode()
        ).hexdigest()
        artifact = builds_root() / key[:16]
        cached = cached_build(artifact)
        if cached is not None:
            note(f"{arch.name} kernel {key[:16]} is cached: {artifact}")
            if store is not None:
                store.put_build(artifact)  # a no-op when the store has it
            return cached
        if store is not None and store.fetch_build(key[:16], artifact):
            note(f"{arch.name} kernel {key[:16]} came from the artifact store: {artifact}")
            return load_build(str(artifact))

        start = time.monotonic()
        log = tree.root / "build.log"
        make(tree, arch, [*arch.build_targets, "modules"], log, jobs=request.jobs)
        lab_modules = extmod.build_modules(
            make_command(tree, arch, [], request.jobs), make_env(), tree.root, module_dirs, log
        )
        timings["build_s"] = time.monotonic() - start

        metadata = {
            "id": key[:16],
            "key": key,
            "arch": arch.name,
            "source": source.spec,
            "source_commit": source.commit,
            "tree_hash": tree_hash,
            "series": str(series.path) if series else None,
            "patches": series.names if series else [],
            "series_sha256": series.digest if series else None,
            # a thread mbox: the revision b4 took, its message-ids, the revisions passed over
            "thread": series.thread.metadata() if series and series.thread else None,
            "flavour": request.flavour,
            # boot options and run-time slowness of the flavour (absent: none and 1)
            "cmdline": list(flavour.cmdline),
            "timeout_factor": flavour.timeout_factor,
            "fragments": [str(f) for f in fragments],
            "config_sha256": config_sha256,
            "toolchain": tools.as_dict(),
            "reproducer": request.reproducer(),
            "lab": lab_identity(),
            "make": make_command(tree, arch, list(arch.build_targets), request.jobs),
            "build_tree": str(tree.root),
            "objtree": str(tree.out),
            "coverage": request.coverage,
            "lab_modules": [d.parent.name for d in lab_modules],
            "durations": timings,
        }
        build = collect_artifacts(tree, arch, artifact, metadata, log, lab_modules)
        if store is not None:
            store.put_build(build.dir)
        return build


@contextmanager
def build_tree(name: str) -> Iterator[BuildTree]:
    """The build tree called `name`, locked against concurrent use."""
    root = paths.cache_dir("trees", name)
    with open(root / "lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            note(f"waiting for build tree {root} (in use by another lab command)")
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield BuildTree(root)


def prepare_tree(src: Path, repo: Path, commit: str) -> None:
    """Check out `commit` in the tree's work copy, discarding earlier patches.

    Files that do not change keep their timestamps, so make rebuilds only what changed.
    """
    if not (src / ".git").exists():
        with step(f"creating build tree {src}"):
            shutil.rmtree(src, ignore_errors=True)
            proc.run(["git", "clone", "-q", "--shared", "--no-checkout", str(repo), str(src)])
    if run_git(src, "cat-file", "-e", f"{commit}^{{commit}}").returncode != 0:
        git(src, "fetch", "-q", str(repo), commit)
    run_git(src, "am", "--abort")
    git(src, "checkout", "-q", "-f", "--detach", commit)
    git(src, "clean", "-q", "-fdx")


def make_command(tree: BuildTree, arch: ArchProfile, targets: list[str], jobs: int) -> list[str]:
    """The make command line for this tree and arch."""
    cross = f"CROSS_COMPILE={arch.cross_prefix}" if arch.cross_prefix else "CROSS_COMPILE="
    return [
        "make",
        "-C",
        str(tree.src),
        f"O={tree.out}",
        f"ARCH={arch.kernel_arch}",
        cross,
        f"CC=ccache {arch.compiler}",
        f"-j{jobs}",
        *targets,
    ]


def make_env() -> dict[str, str]:
    """Environment for kbuild: reproducible build stamps and the lab's ccache."""
    return {
        **os.environ,
        "KBUILD_BUILD_TIMESTAMP": "2000-01-01",
        "KBUILD_BUILD_USER": "faultlab",
        "KBUILD_BUILD_HOST": "faultlab",
        # Not a count of the builds in the tree ("#7"), so that the same tree and config
        # give the same vmlinux: a bisect tells a commit that changes nothing built.
        "KBUILD_BUILD_VERSION": "1",
        "CCACHE_DIR": str(paths.cache_dir("ccache")),
        # Paths relative to the trees make objects shareable between build trees.
        "CCACHE_BASEDIR": str(paths.cache_dir("trees")),
        "CCACHE_MAXSIZE": os.environ.get("CCACHE_MAXSIZE", "8G"),
    }


def configure(tree: BuildTree, arch: ArchProfile, flavour: str, fragments: tuple[Path, ...]) -> str:
    """Base config + fragments + olddefconfig, verified; returns the final .config."""
    tree.out.mkdir(exist_ok=True)
    base = kconfig.base_target(arch, flavour)
    make_quiet(tree, arch, [base])
    merge = tree.src / "scripts" / "kconfig" / "merge_config.sh"
    proc.run(
        [
            "sh",
            str(merge),
            "-m",
            "-O",
            str(tree.out),
            str(tree.out / ".config"),
            *map(str, fragments),
        ],
        cwd=tree.src,
        env=make_env(),
    )
    make_quiet(tree, arch, ["olddefconfig"])
    config_text = (tree.out / ".config").read_text()
    kconfig.verify_config(tree.src, fragments, config_text)
    return config_text


def make_quiet(tree: BuildTree, arch: ArchProfile, targets: list[str]) -> None:
    """A short make step whose output only matters when it fails."""
    try:
        proc.run(make_command(tree, arch, targets, 1), env=make_env())
    except proc.CommandError as e:
        detail = e.output[-3000:]
        raise BuildError(f"make {' '.join(targets)} failed for {arch.name}:\n{detail}") from e


def make(tree: BuildTree, arch: ArchProfile, targets: list[str], log: Path, jobs: int) -> None:
    """The long build, logged to `log`, with a progress line every 30 seconds."""
    argv = make_command(tree, arch, targets, jobs)
    with (
        step(f"building {arch.name} kernel ({' '.join(targets)}), log: {log}"),
        open(log, "w") as logf,
    ):
        logf.write(shlex.join(argv) + "\n")
        logf.flush()
        process = subprocess.Popen(
            argv, stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=make_env()
        )
        done = threading.Event()
        reporter = threading.Thread(
            target=_report_progress, args=(log, done, arch.name), daemon=True
        )
        reporter.start()
        try:
            returncode = process.wait()
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            done.set()
        if returncode != 0:
            raise BuildError(
                f"{arch.name} kernel build failed\n"
                + build_errors(log.read_text(errors="replace")),
                log=log,
            )


def _report_progress(log: Path, done: threading.Event, name: str) -> None:
    start = time.monotonic()
    while not done.wait(30):
        lines = log.read_text(errors="replace").splitlines()
        compiled = sum(1 for line in lines if line.startswith("  CC"))
        last = lines[-1].strip() if lines else ""
        note(
            f"building {name}: {compiled} files compiled in {time.monotonic() - start:.0f}s,"
            f" now: {last}"
        )


def build_errors(log_text: str) -> str:
    """The compiler and make error lines of a failed build (at most 30)."""
    lines = [
        line
        for line in log_text.splitlines()
        if ": error:" in line
        or (line.startswith("make") and "Error" in line)
        or "undefined reference" in line
    ]
    return "\n".join(lines[:30]) or "\n".join(log_text.splitlines()[-30:])


def collect_artifacts(
    tree: BuildTree,
    arch: ArchProfile,
    artifact: Path,
    metadata: dict,
    log: Path,
    lab_modules: list[Path],
) -> KernelBuild:
    """Copy the build's outputs into a temporary directory, then rename it into place."""
    identity = inspect_vmlinux(tree.out / "vmlinux")
    check_identity(identity, arch, tree.out / "vmlinux")
    tmp = artifact.with_name(artifact.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    boot_name = Path(arch.boot_image).name
    shutil.copy2(tree.out / arch.boot_image, tmp / boot_name)
    if boot_name != "vmlinux":
        shutil.copy2(tree.out / "vmlinux", tmp / "vmlinux")
    shutil.copy2(tree.out / ".config", tmp / "config")
    shutil.copy2(tree.out / "System.map", tmp / "System.map")
    shutil.copy2(log, tmp / "build.log")
    if metadata["coverage"]:
        coverage.collect_notes(tree.src, tree.out, tmp)
    modules = tmp / "modules"
    modules.mkdir()
    install = [
        *make_command(tree, arch, ["modules_install"], 1),
        f"INSTALL_MOD_PATH={modules}",
        "INSTALL_MOD_STRIP=1",
        "DEPMOD=true",
    ]
    proc.run(install, env=make_env())
    extmod.install_modules(make_command(tree, arch, [], 1), make_env(), lab_modules, modules)
    metadata |= {
        "boot_image": boot_name,
        "release": identity.release,
        "banner": identity.banner,
        "elf_machine": identity.machine,
        "big_endian": identity.big_endian,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    metadata["files"] = file_digests(tmp, tuple(dict.fromkeys((boot_name, *CHECKED_FILES))))
    (tmp / "metadata.json").write_text(json.dumps(metadata, indent=2) + "\n")
    shutil.rmtree(artifact, ignore_errors=True)
    tmp.rename(artifact)
    return load_build(str(artifact))
