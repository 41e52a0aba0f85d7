"""A run's knobs for the suite programs: the seed, the duration each program repeats its
cases for, and parameters for the lab's kernel modules."""

import re
import secrets
from dataclasses import dataclass

from lab.errors import UsageError


@dataclass(frozen=True)
class ModuleParam:
    """`module.name=value`: a parameter given to a lab kernel module when a suite loads it."""

    module: str
    name: str
    value: str

    def __str__(self) -> str:
        return f"{self.module}.{self.name}={self.value}"


def parse_module_param(text: str) -> ModuleParam:
    """'faultlab_spu.bug=2' as a ModuleParam."""
    match = re.fullmatch(r"(\w+)\.(\w+)=(\S*)", text.strip())
    if not match:
        raise UsageError(
            f"bad module parameter {text!r}: use MODULE.PARAM=VALUE, e.g. faultlab_spu.bug=2"
        )
    return ModuleParam(*match.groups())


@dataclass(frozen=True)
class Knobs:
    """Per-run parameters of the suites: the seed, how long each program repeats its cases
    (0: every case once, the quick smoke-length run), and parameters for the lab's modules."""

    seed: int
    duration_s: int = 0
    module_params: tuple[ModuleParam, ...] = ()


def new_knobs(
    seed: int | None = None, duration_s: int = 0, module_params: tuple[ModuleParam, ...] = ()
) -> Knobs:
    """Knobs with the given seed, or a fresh random one (printed, so it can be repeated)."""
    return Knobs(secrets.randbelow(1 << 31) if seed is None else seed, duration_s, module_params)


def parse_duration(text: str) -> int:
    """'0', '90', '90s', '10m', '1h' as seconds."""
    match = re.fullmatch(r"(\d+)([smh]?)", text.strip())
    if not match:
        raise UsageError(f"bad duration {text!r}: use seconds, or a number with s, m or h")
    return int(match[1]) * {"": 1, "s": 1, "m": 60, "h": 3600}[match[2]]
