"""The Makefile's install path on Debian's own python3, which refuses pip outside a virtual
environment (PEP 668): `make venv` makes one and `lab` and the pytest plugin work from it.
A clean environment: Debian's PATH only, no virtual environment, no PYTHONPATH."""

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEBIAN_PYTHON = Path("/usr/bin/python3")

pytestmark = pytest.mark.integration


@pytest.fixture
def clean_env() -> dict[str, str]:
    if not any(DEBIAN_PYTHON.parent.parent.glob("lib/python3*/EXTERNALLY-MANAGED")):
        pytest.skip(f"{DEBIAN_PYTHON} is not an externally managed (Debian) python3")
    keep = {k: os.environ[k] for k in ("HOME", "LANG", "TMPDIR") if k in os.environ}
    return {**keep, "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}


def test_debian_python_installs_the_lab_into_a_virtual_environment(clean_env, tmp_path):
    refused = subprocess.run(
        [str(DEBIAN_PYTHON), "-m", "pip", "install", "--dry-run", "six"],
        env=clean_env,
        capture_output=True,
        text=True,
    )
    assert refused.returncode != 0 and "externally-managed-environment" in refused.stderr
    venv = tmp_path / "venv"
    made = subprocess.run(
        ["make", "venv", f"PYTHON={DEBIAN_PYTHON}", f"VENV={venv}"],
        cwd=ROOT,
        env=clean_env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=1200,
    )
    assert made.returncode == 0, made.stdout[-2000:] + made.stderr[-2000:]
    assert f"lab is {venv}/bin/lab" in made.stdout
    version = subprocess.run(
        [str(venv / "bin" / "lab"), "--version"], env=clean_env, capture_output=True, text=True
    )
    assert version.stdout.startswith("faultlab "), version.stderr
    plugin = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pytest", "--help"],
        cwd=tmp_path,
        env=clean_env,
        capture_output=True,
        text=True,
    )
    assert "--lab-arch" in plugin.stdout  # the plugin comes with the package
    again = subprocess.run(
        ["make", "venv", f"PYTHON={DEBIAN_PYTHON}", f"VENV={venv}"],
        cwd=ROOT,
        env=clean_env,
        capture_output=True,
        text=True,
    )
    assert "pip install" not in again.stdout  # nothing to do the second time
