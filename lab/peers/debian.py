"""Files of a Debian source package from the apt mirror, verified against its .dsc.

The .dsc's own sha256 is pinned by the caller; the .dsc gives the sha256 of every other
file. Verified files are kept in the cache (downloads/); a file the mirror does not serve can
be put there by hand.
"""

import hashlib
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from lab import paths
from lab.errors import BuildError

APT_SOURCES = (Path("/etc/apt/sources.list"), Path("/etc/apt/sources.list.d"))
DEFAULT_MIRROR = "http://deb.debian.org/debian"
_URI = re.compile(r"^(?:deb(?:-src)?\s+(?:\[[^]]*\]\s+)?|URIs:\s*)(\S+/debian)/?\s", re.M)
_SHA256_LINE = re.compile(r"^ ([0-9a-f]{64}) (\d+) (\S+)$", re.M)


class SourceUnavailable(BuildError):
    """A source file could not be downloaded; the message says where to put it by hand."""


@dataclass(frozen=True)
class SourcePackage:
    """A Debian source package version and the sha256 of its .dsc."""

    name: str
    version: str  # without epoch, e.g. 0.15.06-2
    dsc_sha256: str

    @property
    def dsc(self) -> str:
        return f"{self.name}_{self.version}.dsc"

    @property
    def pool(self) -> str:
        prefix = self.name[:4] if self.name.startswith("lib") else self.name[0]
        return f"pool/main/{prefix}/{self.name}"


def apt_mirror(sources: tuple[Path, ...] = APT_SOURCES) -> str:
    """The first Debian archive URI in the apt sources (deb lines or deb822 URIs:)."""
    files = [f for s in sources for f in ([s] if s.is_file() else sorted(s.glob("*")))
             if f.suffix in (".list", ".sources") and f.is_file()]
    for f in files:
        if match := _URI.search(f.read_text(errors="replace") + "\n"):
            return match[1]
    return DEFAULT_MIRROR


def dsc_checksums(text: str) -> dict[str, tuple[str, int]]:
    """File name -> (sha256, size) from a .dsc's Checksums-Sha256 field (the only field
    whose lines hold 64 hex digits)."""
    return {name: (sha, int(size)) for sha, size, name in _SHA256_LINE.findall(text)}


def fetch_orig(package: SourcePackage) -> tuple[Path, str]:
    """The package's verified upstream tarball (.orig.tar.*) and its sha256."""
    dsc = fetch(package, package.dsc, package.dsc_sha256)
    checksums = dsc_checksums(dsc.read_text(errors="replace"))
    origs = [name for name in checksums if ".orig.tar." in name]
    if len(origs) != 1:
        raise BuildError(f"{dsc} names {len(origs)} upstream tarballs, expected one")
    sha256, _ = checksums[origs[0]]
    return fetch(package, origs[0], sha256), sha256


def fetch(package: SourcePackage, filename: str, sha256: str) -> Path:
    """One file of the package, from the cache or the mirror, checked against `sha256`."""
    path = paths.cache_dir("downloads") / filename
    if path.exists() and _sha256(path) == sha256:
        return path
    url = f"{apt_mirror()}/{package.pool}/{filename}"
    tmp = path.with_name(path.name + ".part")
    try:
        with urllib.request.urlopen(url, timeout=120) as response, open(tmp, "wb") as out:
            while chunk := response.read(1 << 20):
                out.write(chunk)
    except (urllib.error.URLError, OSError) as e:
        tmp.unlink(missing_ok=True)
        raise SourceUnavailable(
            f"cannot download {url} ({e}); get {filename} (sha256 {sha256}) another way "
            f"and put it at {path}") from e
    if (got := _sha256(tmp)) != sha256:
        tmp.unlink()
        raise BuildError(f"{url}: sha256 {got}, expected {sha256} (from {package.dsc})")
    tmp.rename(path)
    return path


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
