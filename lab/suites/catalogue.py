"""The suite catalogue: each folder of testsuites/ with a suite.toml describes its programs."""

import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from lab import paths
from lab.arch import ArchProfile
from lab.errors import UsageError
from lab.results.exitstatus import ExitStatusRules
from lab.suites.knobs import Knobs, ModuleParam
from lab.suites.layout import GUEST_PATHS, TargetPaths

OUTPUTS = ("ktap", "exit-status")


@dataclass(frozen=True)
class Program:
    """One static guest program of a suite.

    A suite's own program is compiled from `source`; a peer suite's program is a `binary`
    its builder makes (lab/peers/). `output` is "ktap", or "exit-status" for a program that
    prints no TAP (one case, judged by `exit_status`).
    """

    suite: str
    name: str
    source: Path | None
    args: tuple[str, ...] = ()
    timeout_s: float = 300.0
    binary: str = ""  # the file in /lab/bin; the program's name if empty
    output: str = "ktap"
    exit_status: ExitStatusRules = field(default_factory=ExitStatusRules)
    default_duration_s: int = 0  # {duration_s} when the run's duration is 0
    sysctl: tuple[tuple[str, str], ...] = ()  # set around the program, then restored
    skip_on: tuple[tuple[str, str], ...] = ()  # arch name, why the program is not run there
    # counter, why a pressure profile may not require it of this program
    pressure_exempt: tuple[tuple[str, str], ...] = ()
    # guest commands run before the program, e.g. loading the lab's kernel module; "{release}"
    # is the guest's kernel release
    setup: tuple[tuple[str, ...], ...] = ()

    @property
    def file(self) -> str:
        """The name of its binary in /lab/bin."""
        return self.binary or self.name

    def duration_s(self, knobs: Knobs) -> int:
        """How long the program is asked to run: the run's duration, or its default."""
        return knobs.duration_s or self.default_duration_s

    def argv(
        self,
        arch: ArchProfile,
        knobs: Knobs,
        paths: TargetPaths = GUEST_PATHS,
        timeout_factor: float = 1.0,
    ) -> list[str]:
        """The target's command line, with arch parameters, run knobs, the target's paths and
        the kernel's timeout factor (a whole number, for a program's own time limits) filled
        in."""
        values = {
            "timeout_factor": math.ceil(timeout_factor),
            "page_size": arch.page_size,
            "arch": arch.name,
            "seed": knobs.seed,
            "duration_s": self.duration_s(knobs),
            "tmpfs": paths.tmpfs,
            "ext4": paths.ext4,
        }
        return [f"{paths.bindir}/{self.file}", *(a.format(**values) for a in self.args)]

    def timeout_for(self, knobs: Knobs) -> float:
        """The program's own timeout plus the time it was asked to repeat its cases."""
        return self.timeout_s + 1.5 * self.duration_s(knobs)

    def setup_commands(
        self, release: str, knobs: Knobs, paths: TargetPaths = GUEST_PATHS
    ) -> list[list[str]]:
        """The setup commands for a target running `release`; a command that loads a module
        (an argument ending in .ko) gets the run's parameters for that module appended."""
        commands = []
        values = {"bindir": paths.bindir, "moddir": paths.moddir.format(release=release)}
        for argv in self.setup:
            command = [a.format(**values) for a in argv]
            for module in (Path(a).stem for a in command if a.endswith(".ko")):
                command += [
                    f"{p.name}={p.value}" for p in knobs.module_params if p.module == module
                ]
            commands.append(command)
        return commands

    def loads_modules(self) -> set[str]:
        """The kernel modules its setup commands load."""
        return {Path(a).stem for argv in self.setup for a in argv if a.endswith(".ko")}

    def skip_reason(self, arch: str) -> str:
        """Why the program is not run on `arch` ('' when it is)."""
        return dict(self.skip_on).get(arch, "")


@dataclass(frozen=True)
class Suite:
    """A named suite and its programs."""

    name: str
    description: str
    programs: tuple[Program, ...]
    builder: str = ""  # a peer suite's builder (lab/peers/); '' for the lab's own suites


def load_suite(directory: Path) -> Suite:
    """Read testsuites/<name>/suite.toml."""
    with open(directory / "suite.toml", "rb") as f:
        data = tomllib.load(f)
    builder = data.get("builder", "")
    rules = exit_status_rules(data.get("exit_status", {}))
    exempt = data.get("pressure_exempt", {})  # for every program of the suite
    programs = tuple(
        load_program(
            directory,
            {**p, "pressure_exempt": {**exempt, **p.get("pressure_exempt", {})}},
            rules,
            bool(builder),
        )
        for p in data.get("programs", ())
    )
    return Suite(directory.name, data.get("description", ""), programs, builder)


def exit_status_rules(table: dict) -> ExitStatusRules:
    """A suite's [exit_status] table: skip = [4], proof = '...', [exit_status.meanings]."""
    meanings = tuple(sorted((int(k), v) for k, v in table.get("meanings", {}).items()))
    return ExitStatusRules(tuple(table.get("skip", (4,))), meanings, table.get("proof", ""))


def load_program(directory: Path, entry: dict, rules: ExitStatusRules, peer: bool) -> Program:
    """One [[programs]] entry; a peer suite's programs have no source of their own."""
    name = entry["name"]
    output = entry.get("output", "ktap")
    if output not in OUTPUTS:
        raise UsageError(
            f"{directory / 'suite.toml'}: program {name}: output {output!r} is "
            f"not one of {', '.join(OUTPUTS)}"
        )
    if peer == ("source" in entry):
        what = "has a builder, so its programs take no source" if peer else "needs a source"
        raise UsageError(f"{directory / 'suite.toml'}: program {name}: the suite {what}")
    return Program(
        directory.name,
        name,
        directory / entry["source"] if not peer else None,
        tuple(entry.get("args", ())),
        float(entry.get("timeout_s", 300)),
        binary=entry.get("binary", ""),
        output=output,
        exit_status=rules,
        default_duration_s=int(entry.get("default_duration_s", 0)),
        sysctl=tuple(sorted(entry.get("sysctl", {}).items())),
        skip_on=tuple(sorted(entry.get("skip_on", {}).items())),
        pressure_exempt=tuple(sorted(entry.get("pressure_exempt", {}).items())),
        setup=tuple(tuple(argv) for argv in entry.get("setup", ())),
    )


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


def check_module_params(params: tuple[ModuleParam, ...], suites: list[Suite]) -> None:
    """Every parameter must be for a module that a selected program loads."""
    loaded = {m for suite in suites for program in suite.programs for m in program.loads_modules()}
    for param in params:
        if param.module not in loaded:
            raise UsageError(
                f"module parameter {param}: no selected suite loads "
                f"{param.module}.ko (modules loaded: "
                f"{', '.join(sorted(loaded)) or 'none'})"
            )
