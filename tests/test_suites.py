"""Suite definitions under testsuites/."""

import pytest

from lab.arch import get_arch
from lab.errors import UsageError
from lab.suites import all_suites, select_suites


def test_smoke_suite_program_gets_the_arch_page_size():
    smoke = all_suites()["smoke"]
    program = smoke.programs[0]
    assert program.source.is_file()
    assert program.argv(get_arch("ppc64")) == ["/lab/bin/smoke", "--page-size", "65536"]
    assert program.argv(get_arch("x86_64")) == ["/lab/bin/smoke", "--page-size", "4096"]


def test_unknown_suite_is_named():
    with pytest.raises(UsageError, match="unknown suite 'nope'"):
        select_suites("smoke,nope")


def test_all_selects_every_suite():
    assert [s.name for s in select_suites("all")] == list(all_suites())
