"""Scratch disk images for guests: a fresh ext4 filesystem made on the host."""

from pathlib import Path

from lab import proc
from lab.kernel.toolchain import require


def make_ext4(path: Path, size_mb: int) -> Path:
    """A sparse file of `size_mb` MiB holding an empty ext4 filesystem owned by root."""
    mkfs = require("mkfs.ext4")
    with open(path, "wb") as f:
        f.truncate(size_mb << 20)
    proc.run([mkfs, "-q", "-F", "-E", "root_owner=0:0", "-L", "faultlab", str(path)])
    return path
