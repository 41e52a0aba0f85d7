"""Guest suites: each folder of testsuites/ with a suite.toml describes its programs."""

import re
import secrets
import tomllib
from dataclasses import dataclass
from pathlib import Path

from lab import paths
from lab.arch import ArchProfile
from lab.errors import UsageError


@dataclass(frozen=True)
class Knobs:
    """Per-run parameters of the randomized suites: the seed, and how long each program
    repeats its cases (0: every case once, the quick smoke-length run)."""

    seed: int
    duration_s: int = 0


def new_knobs(seed: int | None = None, duration_s: int = 0) -> Knobs:
    """Knobs with the given seed, or a fresh random one (printed, so it can be repeated)."""
    return Knobs(secrets.randbelow(1 << 31) if seed is None else seed, duration_s)


def parse_duration(text: str) -> int:
    """'0', '90', '90s', '10m', '1h' as seconds."""
    match = re.fullmatch(r"(\d+)([smh]?)", text.strip())
    if not match:
        raise UsageError(f"bad duration {text!r}: use seconds, or a number with s, m or h")
    return int(match[1]) * {"": 1, "s": 1, "m": 60, "h": 3600}[match[2]]


@dataclass(frozen=True)
class Program:
    """One static guest program of a suite, reporting in KTAP."""

    suite: str
    name: str
    source: Path
    args: tuple[str, ...] = ()
    timeout_s: float = 300.0

    def argv(self, arch: ArchProfile, knobs: Knobs) -> list[str]:
        """The guest command line, with arch parameters and run knobs filled in."""
        values = {"page_size": arch.page_size, "arch": arch.name, "seed": knobs.seed,
                  "duration_s": knobs.duration_s}
        return [f"/lab/bin/{self.name}", *(a.format(**values) for a in self.args)]

    def timeout_for(self, knobs: Knobs) -> float:
        """The program's own timeout plus the time it was asked to repeat its cases."""
        return self.timeout_s + 1.5 * knobs.duration_s


@dataclass(frozen=True)
class Suite:
    """A named suite and its programs."""

    name: str
    description: str
    programs: tuple[Program, ...]


def load_suite(directory: Path) -> Suite:
    """Read testsuites/<name>/suite.toml."""
    with open(directory / "suite.toml", "rb") as f:
        data = tomllib.load(f)
    programs = tuple(
        Program(directory.name, p["name"], directory / p["source"], tuple(p.get("args", ())),
                float(p.get("timeout_s", 300)))
        for p in data.get("programs", ())
    )
    return Suite(directory.name, data.get("description", ""), programs)


def all_suites(root: Path = paths.TESTSUITES_DIR) -> dict[str, Suite]:
    """Every suite under testsuites/, by name."""
    return {d.name: load_suite(d) for d in sorted(root.iterdir()) if (d / "suite.toml").exists()}


def select_suites(spec: str) -> list[Suite]:
    """Suites named in a comma-separated list; 'all' selects every suite."""
    suites = all_suites()
    if spec == "all":
        return list(suites.values())
    chosen = []
    for name in (s.strip() for s in spec.split(",") if s.strip()):
        if name not in suites:
            raise UsageError(f"unknown suite {name!r}; known: {', '.join(suites)}")
        chosen.append(suites[name])
    return chosen
