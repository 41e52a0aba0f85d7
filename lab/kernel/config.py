"""Kernel config: a base (tinyconfig or the arch defconfig) plus fragments, verified.

olddefconfig drops, without a word, any option whose dependencies are not met. Every option
a fragment asks for is checked in the final .config; a dropped one is an error naming it,
the fragment that asked for it and the Kconfig dependencies that were not met.
"""

import re
from dataclasses import dataclass
from pathlib import Path

from lab import paths
from lab.arch import ArchProfile
from lab.errors import ConfigError, UsageError


@dataclass(frozen=True)
class Flavour:
    """A kind of lab kernel: its base config, its own fragments and what its kernels need
    at run time."""

    name: str
    base: str | None  # make target of the base config; None: the arch defconfig
    fragments: tuple[str, ...] = ()  # in kernels/configs/, after the arch's; {arch}: its name
    cmdline: tuple[str, ...] = ()  # boot options its kernels need
    # How much longer the suites' programs may take on its kernels (their timeouts scale).
    timeout_factor: float = 1.0

    def fragment_paths(self, arch: ArchProfile) -> tuple[Path, ...]:
        return tuple(paths.CONFIGS_DIR / f.format(arch=arch.name) for f in self.fragments)


FLAVOURS = {
    f.name: f
    for f in (
        Flavour("tiny", "tinyconfig"),  # fast builds: tinyconfig + fragments
        Flavour("full", None),  # coverage: the arch defconfig + fragments
        # the kernel's memory checkers (KASAN, KFENCE, DEBUG_PAGEALLOC, lockdep, ...):
        # debug.config and debug-ARCH.config. Page poisoning is off without page_poison=1;
        # KASAN reports only its first bug of a boot without kasan_multi_shot, and a later
        # program's bug would go unseen.
        Flavour(
            "debug",
            "tinyconfig",
            ("debug.config", "debug-{arch}.config"),
            cmdline=("page_poison=1", "kasan_multi_shot"),
            # measured (TCG, seed 7): on ppc64 nopfn took 219 s of its 300 s timeout and its
            # switch_rates case overran its own 60 s limit (3.6 s on tiny); x86_64 programs
            # ran up to 10x slower (userfaultfd 87 s against 9)
            timeout_factor=3.0,
        ),
    )
}

_SET = re.compile(r"^(CONFIG_[A-Za-z0-9_]+)=(.*)$")
_UNSET = re.compile(r"^# (CONFIG_[A-Za-z0-9_]+) is not set$")


@dataclass(frozen=True)
class Requested:
    """One option a fragment asks for."""

    symbol: str
    value: str  # 'n' for '# CONFIG_X is not set'
    fragment: Path
    line: int


@dataclass(frozen=True)
class Dropped:
    """An option whose final value differs from the requested one."""

    requested: Requested
    actual: str  # 'n' when absent or not set

    def describe(self, kconfig_deps: str = "") -> str:
        """One line for the error message."""
        r = self.requested
        where = f"{r.fragment.name}:{r.line}"
        deps = f"; Kconfig: {kconfig_deps}" if kconfig_deps else ""
        return f"{r.symbol}={r.value} ({where}) ended up {r.symbol}={self.actual}{deps}"


def get_flavour(name: str) -> Flavour:
    """A flavour by name."""
    if name not in FLAVOURS:
        raise UsageError(f"unknown config flavour {name!r}; known: {', '.join(FLAVOURS)}")
    return FLAVOURS[name]


def base_target(arch: ArchProfile, flavour: str) -> str:
    """The make target that creates the base config of a flavour."""
    return get_flavour(flavour).base or arch.defconfig


def fragments_for(
    arch: ArchProfile, extra: tuple[Path, ...] = (), flavour: str = "tiny"
) -> tuple[Path, ...]:
    """The common fragment, the arch fragment, the flavour's, then the user's fragments."""
    for frag in extra:
        if not frag.is_file():
            raise UsageError(f"config fragment {frag} not found")
    return (
        paths.CONFIGS_DIR / "common.config",
        paths.CONFIGS_DIR / arch.config_fragment,
        *get_flavour(flavour).fragment_paths(arch),
        *extra,
    )


def parse_config(text: str) -> dict[str, str]:
    """Map CONFIG_X to its value ('n' for '# CONFIG_X is not set')."""
    values = {}
    for line in text.splitlines():
        if m := _SET.match(line.strip()):
            values[m.group(1)] = m.group(2)
        elif m := _UNSET.match(line.strip()):
            values[m.group(1)] = "n"
    return values


def requested_options(fragments: tuple[Path, ...]) -> dict[str, Requested]:
    """Every option the fragments ask for; a later fragment overrides an earlier one."""
    wanted: dict[str, Requested] = {}
    for frag in fragments:
        for lineno, line in enumerate(frag.read_text().splitlines(), 1):
            parsed = parse_config(line)
            for symbol, value in parsed.items():
                wanted[symbol] = Requested(symbol, value, frag, lineno)
    return wanted


def dropped_options(fragments: tuple[Path, ...], final_config: str) -> list[Dropped]:
    """Options asked for by the fragments that the final config does not have."""
    final = parse_config(final_config)
    dropped = []
    for req in requested_options(fragments).values():
        actual = final.get(req.symbol, "n")
        if actual != req.value:
            dropped.append(Dropped(req, actual))
    return dropped


def kconfig_dependencies(source_tree: Path, symbol: str) -> str:
    """The 'depends on' lines of a symbol's Kconfig entry, for error messages."""
    name = symbol.removeprefix("CONFIG_")
    entry = re.compile(rf"^\s*(?:menu)?config\s+{re.escape(name)}\s*$")
    deps = []
    for kconfig in source_tree.rglob("Kconfig*"):
        lines = kconfig.read_text(errors="replace").splitlines()
        for i, line in enumerate(lines):
            if entry.match(line):
                for follow in lines[i + 1 : i + 40]:
                    if re.match(r"^\s*(?:menu)?config\s|^\s*(?:endmenu|endif|choice)\b", follow):
                        break
                    if m := re.match(r"^\s*depends on\s+(.*)", follow):
                        deps.append(m.group(1).strip())
    return " && ".join(deps)


def verify_config(source_tree: Path, fragments: tuple[Path, ...], final_config: str) -> None:
    """Raise ConfigError naming every requested option the final config dropped."""
    dropped = dropped_options(fragments, final_config)
    if dropped:
        lines = [d.describe(kconfig_dependencies(source_tree, d.requested.symbol)) for d in dropped]
        raise ConfigError("olddefconfig dropped requested options:\n  " + "\n  ".join(lines))
