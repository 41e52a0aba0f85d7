"""Files written whole: a reader (or a run that was killed while writing) finds the old
content or the new, never a part. The data goes to a temporary file beside the target, is
flushed to the disk, and then renamed over it."""

import os
from pathlib import Path

from lab.errors import InfraError


def write_bytes(path: Path, data: bytes) -> None:
    """Replace `path` with `data` at once; a full disk or a store that is not writable is an
    InfraError naming the file, and leaves the old content."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise InfraError(f"cannot write {path}: {e.strerror or e}") from e


def write_text(path: Path, text: str) -> None:
    """write_bytes() of UTF-8 text."""
    write_bytes(path, text.encode("utf-8"))
