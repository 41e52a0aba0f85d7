"""The kernel's mm selftests on every selected arch: each passes, the kernel log is clean.

A program is not run where suite.toml says why (skip_on), nor when this kernel's selftests do
not have it; soft-dirty may skip as a whole (no CONFIG_MEM_SOFT_DIRTY), and cow's cases that
pin pages skip without CONFIG_GUP_TEST (see suite.toml).
"""

from pathlib import Path

import pytest

from lab.run.lab_guest import assert_program_passed
from lab.suites.catalogue import load_suite

SUITE = load_suite(Path(__file__).parent)
MAY_SKIP = {"soft-dirty", "cow", "mkdirty"}


@pytest.mark.integration
@pytest.mark.parametrize("program", SUITE.programs, ids=lambda p: p.name)
def test_program(guest, program):
    if reason := guest.not_run_reason(program):
        pytest.skip(reason)
    outcome = guest.run_program(program)
    assert_program_passed(outcome, allow_skips=program.name in MAY_SKIP)
