"""Pressure profiles and the vmstat proof, on the real profiles file and recorded vmstat."""

from pathlib import Path

import pytest

from lab.arch import ARCHES
from lab.errors import UsageError
from lab.suites.profiles import (
    REPORTED,
    get_profile,
    load_profiles,
    not_reached,
    parse_vmstat,
    vmstat_delta,
)

VMSTAT = Path(__file__).parent / "data" / "vmstat"


def test_named_profiles_exist_and_grow_in_severity():
    profiles = load_profiles()
    assert {"none", "light", "heavy"} <= set(profiles)
    none, light, heavy = profiles["none"], profiles["light"], profiles["heavy"]
    assert not none.applies_pressure and none.require == ()
    assert light.applies_pressure and light.zram_mb and light.swap_disk_mb
    assert heavy.memory_mb <= light.memory_mb
    assert heavy.cgroup_memory_max_mb and heavy.balloon_mb and heavy.churn_interval_ms
    assert set(light.require) <= set(heavy.require)
    for profile in profiles.values():
        assert set(profile.require) <= set(REPORTED)
        for arch in ARCHES.values():  # every profile boots on every arch
            assert profile.memory_mb % arch.memory_align_mb == 0, (profile.name, arch.name)


def test_inject_profile_proves_injection_without_other_pressure():
    inject = get_profile("inject")
    assert inject.applies_pressure and 0 < inject.fail_page_alloc_percent <= 100
    assert inject.require == ("fail_page_alloc",)
    assert not (inject.hog_mb or inject.swap_disk_mb or inject.zram_mb)
    assert not_reached(inject, {"fail_page_alloc": 0}) == ["fail_page_alloc stayed at +0"]
    assert not_reached(inject, {"fail_page_alloc": 37}) == []


def test_unknown_profile_and_unknown_keys_are_named(tmp_path: Path):
    with pytest.raises(UsageError, match="unknown pressure profile 'crushing'"):
        get_profile("crushing")
    bad = tmp_path / "profiles.toml"
    bad.write_text("[mine]\nmemory_mb = 256\nswapiness = 100\n")
    with pytest.raises(UsageError, match=r"profile mine: unknown keys \['swapiness'\]"):
        load_profiles(bad)


@pytest.mark.parametrize("arch_name", ["x86_64", "ppc64"])
def test_vmstat_delta_of_a_real_smoke_run(arch_name: str):
    before = parse_vmstat((VMSTAT / f"{arch_name}-before-smoke.vmstat").read_text())
    after = parse_vmstat((VMSTAT / f"{arch_name}-after-smoke.vmstat").read_text())
    delta = vmstat_delta(before, after)
    assert delta["pgfault"] > 64  # the smoke suite faults at least its 64 anonymous pages
    assert delta["pswpout"] == 0  # no swap in that guest
    assert not_reached(get_profile("light"), delta) == ["pswpout stayed at +0"]
    assert not_reached(get_profile("none"), delta) == []


def test_a_program_exemption_lifts_one_requirement():
    heavy = get_profile("heavy")
    delta = {"pswpout": 5, "pswpin": 0, "pgmajfault": 0}
    assert not_reached(heavy, delta, exempt=("pswpin",)) == ["pgmajfault stayed at +0"]


def test_nonlinear_is_exempt_from_injection_proof_only():
    from lab.suites.catalogue import all_suites

    (program,) = all_suites()["nonlinear"].programs
    assert [name for name, _ in program.pressure_exempt] == ["fail_page_alloc"]
    assert all(why for _, why in program.pressure_exempt)
