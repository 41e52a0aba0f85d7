"""Scratch directories carry their process's pid; those of dead processes are swept."""

import os
import subprocess
from pathlib import Path

from lab import scratch


def test_a_scratch_dir_names_its_process_and_goes_away(tmp_path):
    with scratch.scratch_dir("guest") as path:
        assert scratch.owner_of(path) == os.getpid()
        assert path.name.startswith(f"faultlab-guest-{os.getpid()}-")
    assert not path.exists()


def test_the_sweep_removes_only_what_dead_processes_left(tmp_path: Path):
    dead = subprocess.Popen(["true"])
    dead.wait()
    mine = tmp_path / f"faultlab-guest-{os.getpid()}-abc123"
    left = tmp_path / f"faultlab-job-{dead.pid}-def456"
    other = tmp_path / "faultlab-not-ours"
    for path in (mine, left, other):
        path.mkdir()
    (left / "ext4.img").write_bytes(b"\0" * 4096)
    assert scratch.sweep(tmp_path) == [left]
    assert mine.exists() and other.exists() and not left.exists()
