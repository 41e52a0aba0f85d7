"""Arch variants: x86_64, ppc64 with the radix MMU and ppc64 with the hash MMU."""

import pytest

from lab.arch.variants import get_variant, parse_variants, variant_for
from lab.errors import UsageError


def test_variants_name_an_arch_an_mmu_and_its_page_size():
    assert [
        (v.name, v.arch, v.mmu, v.page_size) for v in parse_variants("x86_64, ppc64,ppc64-hash")
    ] == [
        ("x86_64", "x86_64", "", 4096),
        ("ppc64", "ppc64", "radix", 65536),
        ("ppc64-hash", "ppc64", "hash", 65536),
    ]
    with pytest.raises(
        UsageError, match="unknown arch 'ppc64-radix'; known: x86_64, ppc64, ppc64-hash"
    ):
        get_variant("ppc64-radix")


@pytest.mark.parametrize(
    ("arch_name", "mmu", "variant"),
    [
        ("x86_64", "", "x86_64"),
        ("x86_64", "hash", "x86_64"),  # `lab run --arch x86_64,ppc64 --mmu hash`: x86_64 ignores it
        ("ppc64", "", "ppc64"),
        ("ppc64", "radix", "ppc64"),
        ("ppc64", "hash", "ppc64-hash"),
    ],
)
def test_the_variant_of_a_lab_run(arch_name, mmu, variant):
    assert variant_for(arch_name, mmu).name == variant
