"""`lab` as a user calls it, the run folder its summary names, and the arch a test that
needs only one runs on."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from lab.arch import parse_arches

LAB = [sys.executable, "-m", "lab"]
RESULTS_LINE = re.compile(r"^results: (\S+)/results\.json", re.M)


def run_folder(stdout: str, stderr: str = "") -> Path:
    """The run folder of the summary's `results: <folder>/results.json` line."""
    found = RESULTS_LINE.findall(stdout)
    assert found, f"no results line in:\n{stdout}{stderr}"
    return Path(found[-1])


def lab_run(*args: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    done = subprocess.run(
        [*LAB, "run", *args], capture_output=True, text=True, timeout=1800, stdin=subprocess.DEVNULL
    )
    return done, run_folder(done.stdout, done.stderr)


def skip_unless_first_arch(arch, config, what: str) -> None:
    """Skip on every --lab-arch but the first: for tests whose cost buys nothing per arch."""
    first = parse_arches(config.getoption("arch"))[0]
    if arch.name != first.name:
        pytest.skip(f"{what} on the first --lab-arch only ({first.name})")
