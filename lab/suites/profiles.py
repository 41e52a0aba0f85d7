"""Memory-pressure profiles and the proof that the pressure was real (/proc/vmstat)."""

import tomllib
from dataclasses import dataclass
from pathlib import Path

from lab import paths
from lab.errors import UsageError

PROFILES_FILE = paths.TESTSUITES_DIR / "pressure" / "profiles.toml"
# The counters shown in reports, whether a profile requires them or not.
REPORTED = (
    "pswpin",
    "pswpout",
    "pgmajfault",
    "pgfault",
    "pgscan_kswapd",
    "pgscan_direct",
    "pgsteal_kswapd",
    "pgsteal_direct",
    "compact_stall",
    "oom_kill",
    "fail_page_alloc",
)


@dataclass(frozen=True)
class PressureProfile:
    """One named way of squeezing the guest's memory."""

    name: str
    description: str = ""
    memory_mb: int = 1024
    zram_mb: int = 0
    swap_disk_mb: int = 0
    hog_mb: int = 0
    churn_interval_ms: int = 0
    cgroup_memory_max_mb: int = 0
    balloon_mb: tuple[int, ...] = ()
    fail_page_alloc_percent: int = 0
    require: tuple[str, ...] = ()

    @property
    def applies_pressure(self) -> bool:
        return bool(
            self.hog_mb
            or self.churn_interval_ms
            or self.cgroup_memory_max_mb
            or self.balloon_mb
            or self.fail_page_alloc_percent
        )


def load_profiles(path: Path = PROFILES_FILE) -> dict[str, PressureProfile]:
    """Every profile of the profiles file, by name."""
    with open(path, "rb") as f:
        data = tomllib.load(f)
    profiles = {}
    for name, entry in data.items():
        unknown = set(entry) - set(PressureProfile.__dataclass_fields__)
        if unknown:
            raise UsageError(f"{path}: profile {name}: unknown keys {sorted(unknown)}")
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in entry.items()}
        profiles[name] = PressureProfile(name=name, **values)
    return profiles


def get_profile(name: str) -> PressureProfile:
    """A profile by name, or a UsageError listing the known ones."""
    profiles = load_profiles()
    if name not in profiles:
        raise UsageError(f"unknown pressure profile {name!r}; known: {', '.join(profiles)}")
    return profiles[name]


def parse_vmstat(text: str) -> dict[str, int]:
    """/proc/vmstat as a dict."""
    values = {}
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if value.strip().isdigit():
            values[name] = int(value)
    return values


def vmstat_delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    """How much each counter grew."""
    return {name: after[name] - before.get(name, 0) for name in after}


def not_reached(
    profile: PressureProfile, delta: dict[str, int], exempt: tuple[str, ...] = ()
) -> list[str]:
    """The required counters (less a program's exemptions) that did not grow ('pswpin stayed
    at +0')."""
    return [
        f"{name} stayed at +{delta.get(name, 0)}"
        for name in profile.require
        if name not in exempt and delta.get(name, 0) <= 0
    ]
