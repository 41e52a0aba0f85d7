"""The artifact store a kernel build can be shared through: what builds need of it.

A worker pool implements it (lab/runtime/store.py: a directory every worker reaches);
builds made on one machine are taken from it on another instead of being built again.
"""

from pathlib import Path
from typing import Protocol


class ArtifactStore(Protocol):
    """Artifacts shared between machines: kernel builds by build id, blobs by sha256."""

    def fetch_build(self, build_id: str, dest: Path) -> bool:
        """Copy the build into `dest` (absent) if the store has it."""
        ...

    def put_build(self, build_dir: Path) -> None:
        """Share a finished build (its directory name is its id)."""
        ...

    def put_blob(self, data: bytes) -> str:
        """Store bytes; their sha256."""
        ...

    def get_blob(self, digest: str) -> bytes:
        """The bytes stored under `digest`."""
        ...
