"""Arch variants: an arch with one MMU mode, the unit that results are kept and compared by.

ppc64 runs as two variants, `ppc64` (the radix MMU, power9's default) and `ppc64-hash`
(the hash MMU Cell has); both boot the same ppc64 kernel.
"""

from dataclasses import dataclass

from lab.arch import get_arch
from lab.arch.profile import ArchProfile
from lab.errors import UsageError


@dataclass(frozen=True)
class ArchVariant:
    """An arch name and the MMU its guests run with ('' where there is no choice)."""

    name: str
    arch: str
    mmu: str

    @property
    def profile(self) -> ArchProfile:
        return get_arch(self.arch)

    @property
    def page_size(self) -> int:
        return self.profile.page_size


VARIANTS: dict[str, ArchVariant] = {
    v.name: v
    for v in (
        ArchVariant("x86_64", "x86_64", ""),
        ArchVariant("ppc64", "ppc64", "radix"),
        ArchVariant("ppc64-hash", "ppc64", "hash"),
    )
}


def get_variant(name: str) -> ArchVariant:
    """The variant called `name`, or a UsageError listing the known ones."""
    try:
        return VARIANTS[name]
    except KeyError:
        raise UsageError(f"unknown arch {name!r}; known: {', '.join(VARIANTS)}") from None


def parse_variants(spec: str) -> list[ArchVariant]:
    """A comma-separated list of variant names such as 'x86_64,ppc64-hash'."""
    return [get_variant(name.strip()) for name in spec.split(",") if name.strip()]


def variant_for(arch: str, mmu: str) -> ArchVariant:
    """The variant a run on `arch` with `lab run --mmu MMU` used: '', or an MMU the arch has
    no choice of (x86_64), is the arch's default, as the guest's command line has it."""
    effective = mmu if mmu in get_arch(arch).mmu_options else ""
    for variant in VARIANTS.values():
        if variant.arch == arch and (
            variant.mmu == effective or (not effective and variant.name == arch)
        ):
            return variant
    raise UsageError(
        f"no arch variant for arch {arch!r} with mmu {mmu!r}; known: {', '.join(VARIANTS)}"
    )
