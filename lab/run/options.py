"""The option vocabulary: each kernel, guest and run option declared once, for the `lab`
commands (argparse) and the pytest plugin alike, and read back into the requests they
make."""

import argparse
import dataclasses
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lab.arch import ARCHES, ArchProfile
from lab.errors import UsageError
from lab.kernel.build import BuildRequest
from lab.kernel.config import FLAVOURS, fragments_for
from lab.kernel.series import load_series
from lab.kernel.source import check_source
from lab.run.machine import GuestOptions
from lab.suites.knobs import Knobs, new_knobs, parse_duration, parse_module_param
from lab.suites.profiles import get_profile

MIN_MEMORY_MB = 128  # a lab kernel and its agent boot in less; the suites need it
Values = Callable[[str], Any]  # an option's value by its dest: argparse's or pytest's


@dataclass(frozen=True)
class Option:
    """One option: its flags and what argparse (and pytest's addoption) need to know."""

    flags: tuple[str, ...]
    help: str
    dest: str | None = None
    default: Any = None
    type: Callable[[str], Any] | None = None
    choices: Sequence[str] | None = None
    action: str | None = None
    metavar: str | None = None

    def but(self, **changes: Any) -> "Option":
        """The same option with another default, help, ..."""
        return dataclasses.replace(self, **changes)

    def arguments(self) -> dict[str, Any]:
        """Keyword arguments of add_argument / addoption."""
        names = ("help", "dest", "default", "type", "choices", "action", "metavar")
        values = {name: getattr(self, name) for name in names}
        return {
            name: value for name, value in values.items() if value is not None or name == "default"
        }


def seed_number(text: str) -> int:
    """A seed: a number from 0 to 2**31 - 1 (the suites' programs take no more)."""
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= value < 1 << 31:
        raise argparse.ArgumentTypeError(f"{text}: use a number from 0 to 2147483647")
    return value


ARCH = Option(("--arch",), f"one or more of {','.join(ARCHES)}", default="x86_64")
SOURCE = Option(
    ("--source",),
    "named source (kernels/sources.toml), git:PATH[@REV] or dir:PATH",
    default="debian-6.1",
)
SERIES = Option(("--series",), "quilt series folder or mbox file", type=Path)
FLAVOUR = Option(
    ("--flavour",),
    "tiny: tinyconfig + fragments; full: arch defconfig + fragments; "
    "debug: tiny + KASAN, KFENCE, lockdep and the other memory checkers",
    default="tiny",
    choices=tuple(FLAVOURS),
)
CONFIG = Option(
    ("--config",),
    "extra config fragment (repeatable)",
    dest="fragments",
    default=[],
    type=Path,
    action="append",
)
COVERAGE = Option(
    ("--coverage",),
    "gcov counters for mm/ (a separate build tree; see `lab coverage`)",
    default=False,
    action="store_true",
)
JOBS = Option(("-j", "--jobs"), "parallel make jobs", default=os.cpu_count() or 1, type=int)
KERNEL = Option(
    ("--kernel",), "use this build (id or artifact dir) instead of building; one arch only"
)
ACCEL = Option(
    ("--accel",),
    "auto: KVM only after `lab doctor --probe-kvm` succeeded, else TCG",
    default="auto",
    choices=("auto", "tcg", "kvm"),
)
MMU = Option(
    ("--mmu",), "ppc64 MMU (hash passes disable_radix)", default="", choices=("", "radix", "hash")
)
MEMORY = Option(("--memory",), "guest RAM in MiB", default=1024, type=int)
PRESSURE = Option(
    ("--pressure",), "memory-pressure profile (testsuites/pressure/profiles.toml)", default="none"
)
SEED = Option(
    ("--seed",),
    "seed for every randomized suite (default: a new random one, printed and kept)",
    type=seed_number,
)
DURATION = Option(
    ("--duration",),
    "how long each program repeats its cases with fresh "
    "random choices: 0 (each case once, about a minute in all), 90s, 10m, 1h",
    default="0",
)
MODULE_PARAM = Option(
    ("--module-param",),
    "a parameter for a lab module when a suite "
    "loads it (repeatable), e.g. faultlab_spu.bug=2 brings back a known "
    "bug pattern",
    dest="module_param",
    default=[],
    action="append",
    metavar="MODULE.PARAM=VALUE",
)
SUITE = Option(("--suite",), "comma-separated suites, or 'all'", default="all")
RESULTS = Option(("--results",), "results root", default=Path("results"), type=Path)
HISTORY = Option(
    ("--history",),
    "history database (default: $FAULTLAB_HISTORY, else history.sqlite in the user data directory)",
    type=Path,
)

BUILD_OPTIONS = (SOURCE, SERIES, FLAVOUR, CONFIG, COVERAGE, JOBS)
GUEST_OPTIONS = (KERNEL, ACCEL, MMU, MEMORY, PRESSURE)
KNOB_OPTIONS = (SEED, DURATION)


def declare(target: Any, options: Iterable[Option], prefix: str = "") -> None:
    """Declare the options on an argparse parser or group, or a pytest option group (which
    reserves short options for pytest itself); with a prefix, '--arch' is '--PREFIXarch',
    and its value keeps its name ('arch'), so the readers below read both alike."""
    argparse_target = hasattr(target, "add_argument")
    add = target.add_argument if argparse_target else target.addoption
    for option in options:
        long = [f for f in option.flags if f.startswith("--")]
        flags = [f for f in option.flags if argparse_target or f.startswith("--")]
        arguments = option.arguments()
        if prefix:
            flags = [f"--{prefix}{f[2:]}" for f in long]
            arguments["dest"] = option.dest or long[-1][2:].replace("-", "_")
        add(*flags, **arguments)


def build_request(values: Values, arch: ArchProfile) -> BuildRequest:
    """The build the kernel options ask for on `arch`, its inputs checked before any work:
    the source, the series and the fragments are there, and make gets at least one job."""
    if values("jobs") < 1:
        raise UsageError(f"--jobs {values('jobs')}: at least 1")
    check_source(values("source"))
    if values("series"):
        load_series(values("series"))
    fragments_for(arch, tuple(map(Path, values("fragments"))))
    return BuildRequest(
        arch=arch,
        source=values("source"),
        series=values("series"),
        flavour=values("flavour"),
        fragments=tuple(map(Path, values("fragments"))),
        jobs=values("jobs"),
        coverage=bool(values("coverage")),
    )


def guest_options(
    values: Values, arches: Iterable[ArchProfile] = (), ssh: bool = False
) -> GuestOptions:
    """The guest the guest options ask for, checked for each of the arches: a known
    pressure profile, RAM a guest can boot with and the machine accepts."""
    memory = values("memory")
    if memory < MIN_MEMORY_MB:
        raise UsageError(f"--memory {memory}: a guest needs at least {MIN_MEMORY_MB} MiB")
    for arch in arches:
        if memory % arch.memory_align_mb:
            raise UsageError(
                f"--memory {memory}: {arch.name} guest RAM must be a multiple "
                f"of {arch.memory_align_mb} MiB ({arch.qemu_machine})"
            )
    get_profile(values("pressure"))
    return GuestOptions(
        accel=values("accel"),
        mmu=values("mmu"),
        memory_mb=values("memory"),
        pressure=values("pressure"),
        ssh=ssh,
    )


def knobs(values: Values, with_module_params: bool = False) -> Knobs:
    """Seed, duration and (for `lab run`) module parameters."""
    params = (
        tuple(parse_module_param(p) for p in values("module_param")) if with_module_params else ()
    )
    return new_knobs(values("seed"), parse_duration(values("duration")), params)
