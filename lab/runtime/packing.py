"""A job's files on their way from a worker's scratch directory to the submitter's work
directory: one tar, and the paths in the job's result moved along."""

import io
import tarfile
from pathlib import Path
from typing import Any


def pack(directory: Path) -> bytes:
    """A directory as an uncompressed tar (logs compress in the store's filesystem, if at
    all; tar keeps this simple)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for path in sorted(directory.rglob("*")):
            tar.add(path, arcname=str(path.relative_to(directory)), recursive=False)
    return buffer.getvalue()


def unpack(data: bytes, directory: Path) -> None:
    """Extract a pack() into `directory` (files only, no links or paths outside it)."""
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(directory, filter="data")


def relocate(value: Any, old: str, new: str) -> Any:
    """`value` (JSON data) with every string that is the path `old` or a path under it
    pointing to the same place under `new`."""
    if isinstance(value, str):
        if value == old or value.startswith(old.rstrip("/") + "/"):
            return new + value[len(old.rstrip("/")) :]
        return value
    if isinstance(value, dict):
        return {key: relocate(item, old, new) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [relocate(item, old, new) for item in value]
    return value
