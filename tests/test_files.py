"""Files are replaced whole: a full disk leaves the old content and says which file."""

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from lab import files
from lab.errors import InfraError


@contextmanager
def small_disk(mount: Path, size_kib: int) -> Iterator[Path]:
    """A tmpfs of `size_kib` (needs root and mount; CI and this lab's hosts run as root)."""
    mount.mkdir()
    argv = ["mount", "-t", "tmpfs", "-o", f"size={size_kib}k", "tmpfs", str(mount)]
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_a_file_is_replaced_whole(tmp_path: Path):
    path = tmp_path / "results.json"
    files.write_text(path, "old\n")
    files.write_text(path, "new\n")
    assert path.read_text() == "new\n"
    assert os.listdir(tmp_path) == ["results.json"]


def test_a_full_disk_keeps_the_old_content_and_names_the_file(tmp_path: Path):
    with small_disk(tmp_path / "tiny", 16) as disk:
        path = disk / "results.json"
        files.write_text(path, "{}\n")
        with pytest.raises(InfraError, match=r"cannot write .*results\.json: No space left"):
            files.write_bytes(path, b"x" * 100_000)
        assert path.read_text() == "{}\n"
        assert os.listdir(disk) == ["results.json"]
