"""Kernel sources: named Debian tarballs, local git trees and plain directories.

Every source ends up as a commit in a git repository the lab can read: the tarball is
unpacked and committed once into the cache, a git tree is cloned (shared) into the cache at
the wanted revision, a directory is mirrored into the cache and committed. The user's own
checkout is never touched.
"""

import hashlib
import shutil
import tomllib
from dataclasses import dataclass
from pathlib import Path

from lab import paths, proc
from lab.errors import UsageError
from lab.kernel.gitrepo import commit_all, git, init_repo
from lab.progress import step


@dataclass(frozen=True)
class Source:
    """A resolved kernel source: a commit in a repository under the lab's control."""

    spec: str  # what the user asked for: 'debian-6.1', 'git:/src/linux@v6.1', 'dir:/x'
    repo: Path
    commit: str

    @property
    def slug(self) -> str:
        """A short name usable in paths."""
        return source_slug(self.spec)


def source_slug(spec: str) -> str:
    """A short name for a source spec, usable in paths: its readable tail and a hash."""
    digest = hashlib.sha256(spec.encode()).hexdigest()[:8]
    readable = "".join(c if c.isalnum() or c in "-." else "-" for c in spec)[-40:]
    return f"{readable.strip('-')}-{digest}"


def named_sources() -> dict[str, dict]:
    """The named sources of kernels/sources.toml."""
    with open(paths.KERNELS_DIR / "sources.toml", "rb") as f:
        return tomllib.load(f)


def check_source(spec: str) -> None:
    """Refuse a source spec that cannot resolve, before any work: an unknown name, a named
    source whose tarball is not installed, a git tree or directory that is not there."""
    if spec.startswith("git:"):
        path = Path(spec[4:].partition("@")[0]).expanduser()
        if not (path / ".git").exists() and not (path / "HEAD").exists():
            raise UsageError(f"{spec}: {path} is not a git repository")
    elif spec.startswith("dir:"):
        if not Path(spec[4:]).expanduser().is_dir():
            raise UsageError(f"{spec}: {spec[4:]} is not a directory")
    else:
        sources = named_sources()
        if spec not in sources:
            raise UsageError(
                f"unknown kernel source {spec!r}; named sources: "
                f"{', '.join(sources)}; or use git:PATH[@REV] or dir:PATH"
            )
        tarball = Path(sources[spec]["tarball"])
        if not tarball.exists():
            package = sources[spec].get("package")
            hint = f" (install the Debian package {package})" if package else ""
            raise UsageError(f"kernel source {spec}: {tarball} not found{hint}")


def resolve_source(spec: str) -> Source:
    """Turn a source spec into a Source, preparing its repository in the cache if needed."""
    if spec.startswith("git:"):
        path, _, rev = spec[4:].partition("@")
        return _git_source(spec, Path(path).expanduser(), rev or "HEAD")
    if spec.startswith("dir:"):
        return _dir_source(spec, Path(spec[4:]).expanduser())
    sources = named_sources()
    if spec not in sources:
        known = ", ".join(sources)
        raise UsageError(
            f"unknown kernel source {spec!r}; named sources: {known}; "
            "or use git:PATH[@REV] or dir:PATH"
        )
    return _tarball_source(spec, sources[spec])


def _tarball_source(name: str, entry: dict) -> Source:
    tarball = Path(entry["tarball"])
    if not tarball.exists():
        hint = f" (install the Debian package {entry['package']})" if "package" in entry else ""
        raise UsageError(f"kernel source {name}: {tarball} not found{hint}")
    stat = tarball.stat()
    key = hashlib.sha256(f"{tarball}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:12]
    final = paths.cache_dir("sources") / f"{name}-{key}"
    with paths.cache_lock(f"source-{final.name}"):
        if not (final / ".git").exists():
            with step(f"unpacking {tarball.name} into the cache"):
                tmp = final.with_name(final.name + ".tmp")
                shutil.rmtree(tmp, ignore_errors=True)
                tmp.mkdir()
                proc.run(["tar", "-xf", str(tarball), "-C", str(tmp), "--strip-components=1"])
                init_repo(tmp)
                commit_all(tmp, f"{name}: {tarball.name}", force=True)
                tmp.rename(final)
    return Source(name, final, git(final, "rev-parse", "HEAD"))


def _git_source(spec: str, path: Path, rev: str) -> Source:
    if not (path / ".git").exists() and not (path / "HEAD").exists():
        raise UsageError(f"{spec}: {path} is not a git repository")
    commit = git(path, "rev-parse", "--verify", f"{rev}^{{commit}}", check=False)
    if not commit or " " in commit:
        raise UsageError(f"{spec}: revision {rev!r} not found in {path}")
    mirror = paths.cache_dir("sources") / (
        "git-" + hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]
    )
    if not (mirror / "HEAD").exists():
        tmp = mirror.with_name(mirror.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        proc.run(["git", "clone", "-q", "--bare", "--shared", str(path), str(tmp)])
        tmp.rename(mirror)
    git(mirror, "fetch", "-q", str(path), commit)
    return Source(spec, mirror, commit)


def _dir_source(spec: str, path: Path) -> Source:
    if not path.is_dir():
        raise UsageError(f"{spec}: {path} is not a directory")
    mirror = paths.cache_dir("sources") / (
        "dir-" + hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]
    )
    mirror.mkdir(exist_ok=True)
    if not (mirror / ".git").exists():
        init_repo(mirror)
    with step(f"mirroring {path}"):
        proc.run(["rsync", "-a", "--delete", "--exclude=/.git", f"{path}/", f"{mirror}/"])
        commit = commit_all(mirror, f"{spec}")
    return Source(spec, mirror, commit)
