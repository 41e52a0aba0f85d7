"""The smoke suite fails on deliberately broken kernels, naming the broken case.

A suite that cannot fail on a broken kernel is worthless: each series under
patches/examples/broken-* plants one bug, and exactly the case that targets it must fail.
"""

from pathlib import Path

import pytest

from lab import paths
from lab.kernel.build import BuildRequest, build_kernel
from lab.results.ktap import Status
from lab.run.lab_guest import LabGuest
from lab.suites.catalogue import all_suites

pytestmark = pytest.mark.integration
EXAMPLES = paths.PROJECT_ROOT / "patches" / "examples"

BROKEN = {
    "broken-remap": ("remap_file_pages", "does not show file page"),
    "broken-dontneed": ("madvise_dontneed", "dropped pages are not zero"),
}


@pytest.mark.parametrize("series", list(BROKEN))
def test_smoke_catches_the_planted_bug(arch, series, knobs, tmp_path: Path):
    broken_case, message = BROKEN[series]
    kernel = build_kernel(BuildRequest(arch=arch, series=EXAMPLES / series))
    smoke = all_suites()["smoke"]
    guest = LabGuest.of(kernel, [smoke], tmp_path, knobs)
    try:
        outcome = guest.run_program(smoke.programs[0])
    finally:
        guest.close()
    assert not outcome.passed
    statuses = {case.name: case.status for case in outcome.ktap.cases}
    assert statuses.pop(broken_case) == Status.FAIL
    assert set(statuses.values()) == {Status.PASS}  # only the targeted case fails
    failed = next(c for c in outcome.ktap.cases if c.name == broken_case)
    assert any(message in line for line in failed.diagnostics), failed.diagnostics
    assert broken_case in outcome.failure_report()
