"""The model suite on every selected arch: every case of the model-based exerciser passes
(or, for the ext4 cases without an ext4 mount, skips), the kernel log is clean."""

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
    assert names == ["anon", "shmem", "tmpfs", "ext4", "ext4_direct", "mixed", "fork", "threads"]
