"""Suite definitions under testsuites/."""

import pytest

from lab.arch import get_arch
from lab.errors import UsageError
from lab.suites import Knobs, all_suites, new_knobs, parse_duration, select_suites


def test_smoke_suite_program_gets_the_arch_page_size():
    smoke = all_suites()["smoke"]
    program = smoke.programs[0]
    assert program.source.is_file()
    knobs = Knobs(seed=5)
    assert program.argv(get_arch("ppc64"), knobs) == ["/lab/bin/smoke", "--page-size", "65536"]
    assert program.argv(get_arch("x86_64"), knobs) == ["/lab/bin/smoke", "--page-size", "4096"]


@pytest.mark.parametrize("suite", ["fault", "nonlinear"])
def test_randomized_suites_get_the_seed_and_duration(suite):
    program = all_suites()[suite].programs[0]
    argv = program.argv(get_arch("x86_64"), Knobs(seed=1234, duration_s=600))
    assert argv[argv.index("--seed") + 1] == "1234"
    assert argv[argv.index("--duration-s") + 1] == "600"
    assert program.timeout_for(Knobs(1234, 600)) == program.timeout_s + 900


def test_without_a_seed_each_run_draws_one():
    seeds = {new_knobs().seed for _ in range(20)}
    assert len(seeds) > 1
    assert new_knobs(42).seed == 42


@pytest.mark.parametrize("text, seconds", [("0", 0), ("90", 90), ("90s", 90), ("10m", 600),
                                           ("1h", 3600)])
def test_duration_forms(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "ten", "5d", "-1", "1.5h"])
def test_bad_duration_is_named(text):
    with pytest.raises(UsageError, match="bad duration"):
        parse_duration(text)


def test_unknown_suite_is_named():
    with pytest.raises(UsageError, match="unknown suite 'nope'"):
        select_suites("smoke,nope")


def test_all_selects_every_suite():
    assert [s.name for s in select_suites("all")] == list(all_suites())
