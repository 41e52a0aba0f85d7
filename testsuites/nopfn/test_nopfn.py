"""The nopfn suite on every selected arch: spufs-style refaults on the lab's emulated SPUs."""

from pathlib import Path

import pytest

from lab.suites import load_suite
from lab.testing import assert_program_passed

SUITE = load_suite(Path(__file__).parent)


@pytest.mark.integration
@pytest.mark.parametrize("program", SUITE.programs, ids=lambda p: p.name)
def test_program(guest, program):
    assert_program_passed(guest.run_program(program))
