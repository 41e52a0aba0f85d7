"""Static guest programs, compiled per arch and cached by a hash of their inputs."""

import hashlib
import shutil
from pathlib import Path

from lab import paths, proc
from lab.arch import ArchProfile
from lab.errors import BuildError
from lab.kernel.toolchain import require, toolchain

SHARED_HEADERS = paths.TESTSUITES_DIR / "lib"
CFLAGS = ("-static", "-O2", "-g0", "-Wall", "-Wextra", "-pthread")


def compile_program(arch: ArchProfile, source: Path, name: str) -> Path:
    """Compile one C source into a static binary for `arch`; cached by content hash."""
    compiler = require(arch.compiler)
    inputs = [source, *headers_for(source)]
    key = hashlib.sha256(
        b"\0".join(
            [
                *(f.read_bytes() for f in inputs),
                toolchain(arch).gcc.encode(),
                " ".join(CFLAGS).encode(),
            ]
        )
    ).hexdigest()[:16]
    out = paths.cache_dir("guest-bin", arch.name, key) / name
    if out.exists():
        return out
    tmp = out.with_name(name + ".tmp")
    try:
        proc.run([compiler, *CFLAGS, "-o", str(tmp), str(source)])
    except proc.CommandError as e:
        raise BuildError(
            f"guest program {source} does not build for {arch.name}:\n{e.output[-3000:]}"
        ) from e
    tmp.rename(out)
    return out


def headers_for(source: Path) -> list[Path]:
    """Headers a guest program may include: its own folder's and the suites' shared ones."""
    return sorted({*source.parent.glob("*.h"), *SHARED_HEADERS.glob("*.h")})


def busybox() -> Path | None:
    """The host's static busybox, if installed (x86_64 only)."""
    found = shutil.which("busybox")
    return Path(found) if found else None
