"""The smoke suite on every selected arch: every KTAP case passes, the kernel log is clean."""

from pathlib import Path

import pytest

from lab.run.lab_guest import assert_program_passed
from lab.suites.catalogue import load_suite

SUITE = load_suite(Path(__file__).parent)


@pytest.mark.integration
@pytest.mark.parametrize("program", SUITE.programs, ids=lambda p: p.name)
def test_program(guest, program):
    outcome = guest.run_program(program)
    assert_program_passed(outcome)
    names = [case.name for case in outcome.ktap.cases]
    assert names == [
        "page_size",
        "anon_write_fault",
        "tmpfs_shared_mmap",
        "madvise_dontneed",
        "remap_file_pages",
    ]
