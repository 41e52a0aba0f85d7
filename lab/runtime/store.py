"""Where workers share artifacts by content hash: kernel builds (by build id, itself a hash of
tree, config and toolchain) and blobs (attempt logs, by sha256).

`DirectoryStore` is a directory every worker can reach (shared storage, or the local disk
for a pool on one machine). Entries appear atomically (written beside, then renamed), so a
worker that dies while storing leaves nothing half-written that another would take.
"""

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from lab import paths


class DirectoryStore:
    """An ArtifactStore (lab/kernel/artifacts.py) in a directory: builds/<id>/ and
    blobs/<sha256>."""

    def __init__(self, root: Path):
        self.root = root
        (root / "builds").mkdir(parents=True, exist_ok=True)
        (root / "blobs").mkdir(parents=True, exist_ok=True)

    def fetch_build(self, build_id: str, dest: Path) -> bool:
        source = self.root / "builds" / build_id
        if not (source / "metadata.json").exists():
            return False
        _publish_tree(source, dest)
        return True

    def put_build(self, build_dir: Path) -> None:
        dest = self.root / "builds" / build_dir.name
        if not (dest / "metadata.json").exists():
            _publish_tree(build_dir, dest)

    def put_blob(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        path = self.root / "blobs" / digest
        if not path.exists():
            with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as tmp:
                tmp.write(data)
            os.replace(tmp.name, path)
        return digest

    def get_blob(self, digest: str) -> bytes:
        data = (self.root / "blobs" / digest).read_bytes()
        if hashlib.sha256(data).hexdigest() != digest:
            raise OSError(f"blob {digest} in {self.root} is damaged")
        return data


def _publish_tree(source: Path, dest: Path) -> None:
    """Copy a directory to `dest` through a temporary sibling and a rename; when another
    worker got there first, its copy stays."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}-"))
    try:
        shutil.copytree(source, tmp, symlinks=True, dirs_exist_ok=True)
        try:
            tmp.rename(dest)
        except OSError:
            if not (dest / "metadata.json").exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def default_store() -> DirectoryStore:
    """$FAULTLAB_STORE (shared storage for a pool of several hosts), else the cache's."""
    root = os.environ.get("FAULTLAB_STORE")
    return DirectoryStore(Path(root) if root else paths.cache_dir("store"))
