"""Suite definitions under testsuites/."""

import pytest

from lab.arch import get_arch
from lab.errors import UsageError
from lab.suites.catalogue import all_suites, check_module_params, select_suites
from lab.suites.knobs import Knobs, new_knobs, parse_duration, parse_module_param
from lab.suites.layout import TargetPaths


def test_smoke_suite_program_gets_the_arch_page_size():
    smoke = all_suites()["smoke"]
    program = smoke.programs[0]
    assert program.source.is_file()
    knobs = Knobs(seed=5)
    assert program.argv(get_arch("ppc64"), knobs) == ["/lab/bin/smoke", "--page-size", "65536"]
    assert program.argv(get_arch("x86_64"), knobs) == ["/lab/bin/smoke", "--page-size", "4096"]


@pytest.mark.parametrize("suite", ["fault", "nonlinear", "model"])
def test_randomized_suites_get_the_seed_and_duration(suite):
    program = all_suites()[suite].programs[0]
    argv = program.argv(get_arch("x86_64"), Knobs(seed=1234, duration_s=600))
    assert argv[argv.index("--seed") + 1] == "1234"
    assert argv[argv.index("--duration-s") + 1] == "600"
    assert program.timeout_for(Knobs(1234, 600)) == program.timeout_s + 900


def test_nopfn_scales_its_own_case_limits_with_the_kernels_timeout_factor():
    """A debug kernel (timeout factor 3) gives nopfn's per-case stall and timeout limits
    the same headroom as the lab's program timeout."""
    nopfn = all_suites()["nopfn"].programs[0]
    argv = nopfn.argv(get_arch("ppc64"), Knobs(seed=5), timeout_factor=3.0)
    assert argv[argv.index("--timeout-factor") + 1] == "3"
    tiny = nopfn.argv(get_arch("ppc64"), Knobs(seed=5))
    assert tiny[tiny.index("--timeout-factor") + 1] == "1"


def test_without_a_seed_each_run_draws_one():
    seeds = {new_knobs().seed for _ in range(20)}
    assert len(seeds) > 1
    assert new_knobs(42).seed == 42


@pytest.mark.parametrize(
    "text, seconds", [("0", 0), ("90", 90), ("90s", 90), ("10m", 600), ("1h", 3600)]
)
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


def test_nopfn_setup_loads_the_module_of_the_guest_release_with_the_run_parameters():
    program = next(p for p in all_suites()["nopfn"].programs if p.name == "nopfn")
    ko = "/lib/modules/6.1.0-lab/extra/faultlab_spu.ko"
    assert program.setup_commands("6.1.0-lab", Knobs(seed=1)) == [
        ["/lab/bin/labctl", "insmod", "--keep", ko]
    ]
    knobs = Knobs(
        seed=1,
        module_params=(
            parse_module_param("faultlab_spu.bug=2"),
            parse_module_param("other.x=1"),
            parse_module_param("faultlab_spu.nr_spus=3"),
        ),
    )
    assert program.setup_commands("6.1.0-lab", knobs) == [
        ["/lab/bin/labctl", "insmod", "--keep", ko, "bug=2", "nr_spus=3"]
    ]


def test_a_remote_target_gets_its_own_paths_in_commands_and_setup():
    paths = TargetPaths("/var/tmp/fl/bin", "/var/tmp/fl/modules/{release}", "/dev/shm", "")
    fault = next(p for p in all_suites()["fault"].programs if p.name == "fault")
    argv = fault.argv(get_arch("ppc64"), Knobs(seed=5), paths)
    assert argv[0] == "/var/tmp/fl/bin/fault"
    assert argv[argv.index("--tmpfs") + 1] == "/dev/shm"
    assert argv[argv.index("--ext4") + 1] == ""
    nopfn = next(p for p in all_suites()["nopfn"].programs if p.name == "nopfn")
    assert nopfn.setup_commands("6.1.0-lab", Knobs(seed=1), paths) == [
        [
            "/var/tmp/fl/bin/labctl",
            "insmod",
            "--keep",
            "/var/tmp/fl/modules/6.1.0-lab/faultlab_spu.ko",
        ]
    ]


@pytest.mark.parametrize("text", ["bug=2", "faultlab_spu.bug", "faultlab-spu.bug=1", ""])
def test_bad_module_parameter_is_named(text):
    with pytest.raises(UsageError, match="bad module parameter"):
        parse_module_param(text)


def test_module_parameter_for_a_module_no_selected_suite_loads_is_refused():
    params = (parse_module_param("faultlab_spu.bug=1"),)
    check_module_params(params, select_suites("nopfn"))
    with pytest.raises(
        UsageError,
        match=r"faultlab_spu.bug=1: no selected suite loads "
        r"faultlab_spu.ko \(modules loaded: none\)",
    ):
        check_module_params(params, select_suites("smoke,fault"))
