"""Scratch disk images for guests: a fresh ext4 filesystem made on the host."""

from pathlib import Path

from lab import proc
from lab.kernel.toolchain import require


def make_raw(path: Path, size_mb: int) -> Path:
    """A sparse file of `size_mb` MiB (the guest writes what it needs, e.g. a swap header)."""
    with open(path, "wb") as f:
        f.truncate(size_mb << 20)
    return path


def make_ext4(path: Path, size_mb: int) -> Path:
    """A sparse file of `size_mb` MiB holding an empty ext4 filesystem owned by root."""
    mkfs = require("mkfs.ext4")
    make_raw(path, size_mb)
    proc.run([mkfs, "-q", "-F", "-E", "root_owner=0:0", "-L", "faultlab", str(path)])
    return path
