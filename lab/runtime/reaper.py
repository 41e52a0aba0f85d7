"""Ending what a service started: its process group, and the processes found by a marker in
their environment, which every descendant keeps, even one that left the group (Erlang's
erl_child_setup and inet_gethost)."""

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path


def marked_processes(key: str, value: str) -> list[int]:
    """Live processes (zombies have no environment) whose environment holds key=value."""
    marker = f"{key}={value}".encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:  # gone, or another user's
            continue
        if marker in environ.split(b"\0"):
            pids.append(int(entry.name))
    return pids


def end_marked(key: str, value: str, timeout_s: float = 5.0) -> list[int]:
    """Wait up to timeout_s for the marked processes to end, then SIGKILL those left;
    return the pids that had to be killed."""
    deadline = time.monotonic() + timeout_s
    while (left := marked_processes(key, value)) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return left


def group_alive(pgid: int) -> bool:
    """Whether any process of the process group is left."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def wait_gone(process: subprocess.Popen, timeout_s: float) -> bool:
    """Whether the process and its whole group ended within timeout_s."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None and not group_alive(process.pid):
            return True
        time.sleep(0.05)
    return False


def stop_group(process: subprocess.Popen, timeout_s: float) -> None:
    """End a process started with start_new_session and every process of its group:
    SIGTERM, then SIGKILL after timeout_s."""
    for sig, wait_s in ((signal.SIGTERM, timeout_s), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        if wait_gone(process, wait_s):
            break
    process.wait()
