"""Guest suites: each folder of testsuites/ with a suite.toml describes its programs."""

import tomllib
from dataclasses import dataclass
from pathlib import Path

from lab import paths
from lab.arch import ArchProfile
from lab.errors import UsageError


@dataclass(frozen=True)
class Program:
    """One static guest program of a suite, reporting in KTAP."""

    suite: str
    name: str
    source: Path
    args: tuple[str, ...] = ()
    timeout_s: float = 300.0

    def argv(self, arch: ArchProfile) -> list[str]:
        """The guest command line, with arch parameters filled in."""
        values = {"page_size": arch.page_size, "arch": arch.name}
        return [f"/lab/bin/{self.name}", *(a.format(**values) for a in self.args)]


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
