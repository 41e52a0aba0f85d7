"""One option vocabulary for the `lab` commands and the pytest plugin."""

import argparse
from pathlib import Path

import pytest

from lab.arch import get_arch
from lab.cli import parser
from lab.run import options

SHARED = (*options.BUILD_OPTIONS, *options.GUEST_OPTIONS, *options.KNOB_OPTIONS)


def flags_of(sub: str) -> set[str]:
    (action,) = [a for a in parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return {f for a in action.choices[sub]._actions for f in a.option_strings}


def test_run_takes_every_shared_option_and_boot_the_kernel_and_guest_ones():
    assert {f for o in SHARED for f in o.flags} <= flags_of("run")
    guest = (*options.BUILD_OPTIONS, *options.GUEST_OPTIONS)
    assert {f for o in guest for f in o.flags} <= flags_of("boot")


def test_bisect_takes_the_kernel_and_knob_options_it_needs():
    wanted = {"--flavour", "--config", "--jobs", "--seed", "--duration", "--pressure"}
    assert wanted <= flags_of("bisect")


def test_the_pytest_plugin_declares_the_same_options(pytestconfig):
    for option in SHARED:
        dest = option.dest or option.flags[-1].lstrip("-").replace("-", "_")
        pytestconfig.getoption(dest)  # raises ValueError for an undeclared option


FRAGMENT = str(Path(__file__).parent.parent / "kernels" / "configs" / "coverage.config")


def test_values_become_requests():
    args = parser().parse_args(
        [
            "run",
            "--arch",
            "ppc64",
            "--config",
            FRAGMENT,
            "--seed",
            "7",
            "--duration",
            "90s",
            "--mmu",
            "hash",
            "--memory",
            "512",
        ]
    )
    values = lambda dest: getattr(args, dest)  # noqa: E731
    request = options.build_request(values, get_arch("ppc64"))
    assert (request.arch.name, request.fragments) == ("ppc64", (Path(FRAGMENT),))
    guest = options.guest_options(values)
    assert (guest.mmu, guest.memory_mb, guest.pressure) == ("hash", 512, "none")
    knobs = options.knobs(values)
    assert (knobs.seed, knobs.duration_s) == (7, 90)


@pytest.mark.parametrize("seed", ["-1", "2147483648", "seven"])
def test_a_bad_seed_is_refused_before_any_work(seed, capsys):
    with pytest.raises(SystemExit) as exit_info:
        parser().parse_args(["run", "--seed", seed])
    assert exit_info.value.code == 2
    assert "--seed" in capsys.readouterr().err
