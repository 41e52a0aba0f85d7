"""The nightly matrix (kernels/nightly.toml): which kernels run on which arch variants, under
which pressure profiles, with which suites.

    name = "default"                  # the matrix's name in the history (default: file stem)
    history = "~/lab/history.sqlite"  # optional; relative paths are to the matrix file

    [defaults]                        # for every kernel; each key optional
    arches = ["x86_64", "ppc64", "ppc64-hash"]   # arch variants (lab/arch/variants.py)
    suites = "all"                    # or a list of suite names
    pressure = ["none", "heavy"]      # profiles of testsuites/pressure/profiles.toml
    duration = "0"                    # per program, as `lab run --duration`
    repeat = 1                        # how often each cell runs its suites
    flavour = "tiny"                  # config flavour of the kernels: tiny, full, debug

    [[kernels]]
    source = "debian-6.1"             # a name from kernels/sources.toml
    name = "debian-6.1"               # optional, default: the source (+ "-<flavour>")
    series = ["", "patches/selftest/remap-drops-mlock"]   # optional; "" is no series
    pressure = ["none"]               # any [defaults] key, for this kernel only

    [[cells]]                         # an extra cell, or one replacing the cell of its key
    kernel = "debian-6.1+remap-drops-mlock"
    arch = "ppc64-hash"
    pressure = "heavy"
    duration = "10m"                  # suites, duration and repeat default as its kernel's

    [[cells]]                         # a patch series tried in one cell: the cell keeps its
    kernel = "debian-6.1"             # key (and history), its kernel identity changes
    arch = "x86_64"
    pressure = "none"
    series = "patches/my-series"

A kernel with a series is named '<name>+<series folder>'. A kernel of another flavour than
tiny is named after its source with the flavour as a suffix ('debian-6.1-debug'), so its
cells have their own history keys ('debian-6.1-debug/x86_64/none'); a `name` given is taken
as it is. Relative series paths are to the faultlab checkout. Every cell of a kernel on ppc64
and ppc64-hash shares one build; builds are per source, series, arch and flavour.
"""

import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from lab import paths
from lab.arch import get_arch
from lab.arch.variants import VARIANTS, ArchVariant, get_variant, variant_for
from lab.errors import UsageError
from lab.history.model import cell_key, kernel_name
from lab.kernel.build import BuildRequest
from lab.kernel.config import get_flavour
from lab.kernel.series import load_series
from lab.kernel.source import named_sources
from lab.suites.catalogue import select_suites
from lab.suites.knobs import parse_duration
from lab.suites.profiles import load_profiles

DEFAULT_MATRIX = paths.KERNELS_DIR / "nightly.toml"
SETTINGS = {
    "arches": list(VARIANTS),
    "suites": "all",
    "pressure": ["none"],
    "duration": "0",
    "repeat": 1,
    "flavour": "tiny",
}
TOP_KEYS = {"name", "history", "defaults", "kernels", "cells"}
KERNEL_KEYS = {"name", "source", "series", *SETTINGS}
# A cell's flavour is its kernel's: a cell of another flavour is a cell of another kernel.
CELL_KEYS = {"kernel", "arch", "pressure", "suites", "duration", "repeat", "series"}


def series_path(series: str) -> Path | None:
    """A series as written in a matrix, as a path (relative ones are to the checkout)."""
    if not series:
        return None
    path = Path(series).expanduser()
    return path if path.is_absolute() else paths.PROJECT_ROOT / path


@dataclass(frozen=True)
class BuildSpec:
    """One kernel build the matrix needs: shared by every cell of its source, series, arch
    and flavour."""

    source: str
    series: str  # as written in the matrix; '' for none
    arch: str
    flavour: str = "tiny"

    def request(self, **options) -> BuildRequest:
        """The BuildRequest that makes it (options: jobs, ...)."""
        return BuildRequest(
            arch=get_arch(self.arch),
            source=self.source,
            series=series_path(self.series),
            flavour=self.flavour,
            **options,
        )


@dataclass(frozen=True)
class Cell:
    """One kernel on one arch variant under one pressure profile."""

    kernel: str
    source: str
    series: str  # as written in the matrix; '' for none
    arch: str
    mmu: str
    pressure: str
    suites: tuple[str, ...]
    duration_s: int
    repeat: int
    flavour: str = "tiny"

    @property
    def variant(self) -> str:
        return variant_for(self.arch, self.mmu).name

    @property
    def key(self) -> str:
        """'debian-6.1/x86_64/heavy', as the history keys it."""
        return cell_key(self.kernel, self.variant, self.pressure, self.duration_s)

    @property
    def build(self) -> BuildSpec:
        """The build it boots (ppc64 and ppc64-hash cells share theirs)."""
        return BuildSpec(self.source, self.series, self.arch, self.flavour)


@dataclass(frozen=True)
class Matrix:
    """A matrix file's cells, in file order."""

    name: str
    path: Path
    cells: tuple[Cell, ...]
    history: Path | None = None  # where its runs are kept, if not the default history

    def builds(self) -> tuple[BuildSpec, ...]:
        """The distinct builds of the cells, in the order the cells need them."""
        return tuple(dict.fromkeys(cell.build for cell in self.cells))

    def cell(self, key: str) -> Cell:
        for cell in self.cells:
            if cell.key == key:
                return cell
        raise UsageError(f"{self.path}: no cell {key!r}")


@contextmanager
def _entry(path: Path, what: str) -> Iterator[None]:
    """Prefix a UsageError with the file and the entry it came from."""
    try:
        yield
    except UsageError as e:
        raise UsageError(f"{path}: {what}: {e}") from None


def _check_keys(entry: object, allowed: set[str]) -> dict:
    if not isinstance(entry, dict):
        raise UsageError(f"expected a table, not {entry!r}")
    unknown = sorted(set(entry) - allowed)
    if unknown:
        raise UsageError(f"unknown keys {unknown}; known: {sorted(allowed)}")
    return entry


def _names(value: object, what: str) -> list[str]:
    """A string or a list of strings."""
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise UsageError(f"{what} must be a string or a list of strings, not {value!r}")
    return names


@dataclass(frozen=True)
class Settings:
    """The parsed [defaults] keys of one kernel or cell."""

    variants: tuple[ArchVariant, ...]
    suites: tuple[str, ...]
    pressure: tuple[str, ...]
    duration_s: int
    repeat: int
    flavour: str


def parse_settings(entry: dict, profiles: tuple[str, ...]) -> Settings:
    """Check and parse arches, suites, pressure, duration, repeat and flavour."""
    variants = tuple(map(get_variant, _names(entry["arches"], "arches")))
    suites = entry["suites"]
    spec = suites if suites == "all" else ",".join(_names(suites, "suites"))
    pressure = tuple(_names(entry["pressure"], "pressure"))
    for name in pressure:
        if name not in profiles:
            raise UsageError(f"unknown pressure profile {name!r}; known: {', '.join(profiles)}")
    repeat = entry["repeat"]
    if not isinstance(repeat, int) or isinstance(repeat, bool) or repeat < 1:
        raise UsageError(f"repeat must be a whole number of at least 1, not {repeat!r}")
    return Settings(
        variants,
        tuple(s.name for s in select_suites(spec)),
        pressure,
        parse_duration(str(entry["duration"])),
        repeat,
        get_flavour(str(entry["flavour"])).name,
    )


def kernel_cells(entry: dict, defaults: dict, profiles: tuple[str, ...]) -> list[Cell]:
    """The cells of one [[kernels]] entry: series x arch variants x pressure profiles."""
    source = entry.get("source")
    if source is None:
        raise UsageError("a kernel needs a source")
    if source not in named_sources():
        raise UsageError(
            f"unknown kernel source {source!r}; named sources: {', '.join(named_sources())}"
        )
    settings = parse_settings({**defaults, **entry}, profiles)
    suffix = "" if settings.flavour == "tiny" else f"-{settings.flavour}"
    name = entry.get("name", source + suffix)
    cells = []
    for series in _names(entry.get("series", [""]), "series"):
        if series:
            load_series(series_path(series))
        for variant in settings.variants:
            cells += [
                Cell(
                    kernel_name(name, series),
                    source,
                    series,
                    variant.arch,
                    variant.mmu,
                    pressure,
                    settings.suites,
                    settings.duration_s,
                    settings.repeat,
                    settings.flavour,
                )
                for pressure in settings.pressure
            ]
    return cells


def extra_cell(
    entry: dict, kernels: dict[str, tuple[Cell, dict]], profiles: tuple[str, ...]
) -> Cell:
    """One [[cells]] entry: a kernel named by [[kernels]] on one arch variant."""
    if entry.get("kernel") not in kernels:
        raise UsageError(
            f"unknown kernel {entry.get('kernel')!r}; the [[kernels]] entries "
            f"make {', '.join(kernels)}"
        )
    for key in ("arch", "pressure"):
        if not isinstance(entry.get(key), str):
            raise UsageError(f"a cell needs one {key} (a string)")
    template, settings = kernels[entry["kernel"]]
    parsed = parse_settings({**settings, "arches": [entry["arch"]], **entry}, profiles)
    (variant,) = parsed.variants
    series = entry.get("series", template.series)
    if not isinstance(series, str):
        raise UsageError(f"a cell's series is one folder (a string), not {series!r}")
    if series:
        load_series(series_path(series))
    return replace(
        template,
        arch=variant.arch,
        mmu=variant.mmu,
        pressure=entry["pressure"],
        suites=parsed.suites,
        duration_s=parsed.duration_s,
        repeat=parsed.repeat,
        series=series,
    )


def load_matrix(path: Path = DEFAULT_MATRIX) -> Matrix:
    """Read and check a matrix file."""
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise UsageError(f"cannot read the matrix {path}: {e}") from e
    profiles = tuple(load_profiles())
    with _entry(path, "top level"):
        _check_keys(data, TOP_KEYS)
    with _entry(path, "[defaults]"):
        defaults = {**SETTINGS, **_check_keys(data.get("defaults", {}), set(SETTINGS))}
    cells: dict[str, Cell] = {}
    kernels: dict[str, tuple[Cell, dict]] = {}
    for index, entry in enumerate(data.get("kernels", []), 1):
        label = f"[[kernels]] #{index}"
        with _entry(
            path,
            f"{label} ({entry.get('name') or entry.get('source')})"
            if isinstance(entry, dict)
            else label,
        ):
            _check_keys(entry, KERNEL_KEYS)
            made = kernel_cells(entry, defaults, profiles)
            twice = sorted({c.kernel for c in made} & set(kernels))
            if twice:
                raise UsageError(f"kernel {twice[0]} is already defined by another entry")
            for cell in made:
                if cell.key in cells:
                    raise UsageError(f"cell {cell.key} is listed twice")
                cells[cell.key] = cell
                kernels.setdefault(cell.kernel, (cell, {**defaults, **entry}))
    for index, entry in enumerate(data.get("cells", []), 1):
        label = f"[[cells]] #{index}"
        if isinstance(entry, dict):
            label += f" ({entry.get('kernel')}/{entry.get('arch')}/{entry.get('pressure')})"
        with _entry(path, label):
            cell = extra_cell(_check_keys(entry, CELL_KEYS), kernels, profiles)
            cells[cell.key] = cell
    if not cells:
        raise UsageError(f"{path}: the matrix has no cells: add [[kernels]] entries")
    history = data.get("history")
    return Matrix(
        data.get("name", path.stem),
        path,
        tuple(cells.values()),
        path.parent / Path(history).expanduser() if history else None,
    )
