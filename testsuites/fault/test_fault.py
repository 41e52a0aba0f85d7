"""The ->fault suite on every selected arch: file-backed faults on tmpfs and ext4,
page_mkwrite, truncate races, COW, MADV_DONTNEED edges, populate, mlock, concurrent faults."""

from pathlib import Path

import pytest

from lab.run.lab_guest import assert_program_passed
from lab.suites.catalogue import load_suite

SUITE = load_suite(Path(__file__).parent)


@pytest.mark.integration
@pytest.mark.parametrize("program", SUITE.programs, ids=lambda p: p.name)
def test_program(guest, program):
    assert_program_passed(guest.run_program(program))
