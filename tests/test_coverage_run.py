"""`lab coverage` on a real gcov kernel: each suite covers the target functions it claims."""

from pathlib import Path

import pytest

from lab.kernel.build import BuildRequest
from lab.run.coverage import CoverageRequest, coverage_arch, tables
from lab.suites.catalogue import all_suites
from tests.labcli import skip_unless_first_arch

pytestmark = pytest.mark.integration

# (suite, function) pairs whose lines the suite must run, and the least share of lines.
CLAIMS = [
    ("smoke/smoke", "shmem_fault", 0.2),
    ("smoke/smoke", "remap_file_pages", 0.5),
    ("fault/fault", "filemap_fault", 0.4),
    ("fault/fault", "do_shared_fault", 0.5),
    ("fault/fault", "do_page_mkwrite", 0.5),
    ("fault/fault", "unmap_mapping_range", 0.9),
    ("nonlinear/nonlinear", "remap_file_pages", 0.8),
]


def test_suites_cover_their_target_functions(arch, knobs, tmp_path: Path, pytestconfig):
    # A gcov kernel is a build tree of its own (about 8 min cold per arch): one arch is
    # enough to check the mechanism, the first --lab-arch; `lab coverage` runs any.
    skip_unless_first_arch(arch, pytestconfig, "coverage is measured")
    suites = all_suites()
    request = CoverageRequest(
        arches=(arch,),
        build=BuildRequest(arch=arch),
        knobs=knobs,
        suites=tuple(suites[n] for n in ("smoke", "fault", "nonlinear")),
    )
    measured = coverage_arch(request, arch, tmp_path)
    table = tables(measured)
    assert all(m.passed for m in measured), table
    found = {(m.suite, f.function): f for m in measured for f in m.functions}
    for suite, function, share in CLAIMS:
        cov = found[suite, function]
        assert cov.lines and cov.executed >= share * cov.lines, f"{suite} {function}\n{table}"
    # fault never calls remap_file_pages: coverage is per program, not cumulative.
    assert found["fault/fault", "remap_file_pages"].executed == 0, table
