"""`lab run` as a user calls it, and the run folder its summary names."""

import re
import subprocess
import sys
from pathlib import Path

LAB = [sys.executable, "-m", "lab"]
RESULTS_LINE = re.compile(r"^results: (\S+)/results\.json", re.M)


def run_folder(stdout: str) -> Path:
    """The run folder of the summary's `results: <folder>/results.json` line."""
    found = RESULTS_LINE.findall(stdout)
    assert found, f"no results line in:\n{stdout}"
    return Path(found[-1])


def lab_run(*args: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    done = subprocess.run(
        [*LAB, "run", *args], capture_output=True, text=True, timeout=1800, stdin=subprocess.DEVNULL
    )
    assert RESULTS_LINE.search(done.stdout), done.stdout + done.stderr
    return done, run_folder(done.stdout)
