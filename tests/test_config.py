"""Config fragments against real .config files made by Linux 6.1's kconfig."""

from pathlib import Path

import pytest

from lab import paths
from lab.arch import get_arch
from lab.errors import UsageError
from lab.kernel.config import (
    base_target,
    dropped_options,
    fragments_for,
    get_flavour,
    parse_config,
    requested_options,
)

DATA = Path(__file__).parent / "data" / "config"
X86 = get_arch("x86_64")


def test_parse_config_reads_set_and_unset_lines():
    values = parse_config('CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C="x y"\n# comment\n')
    assert values == {"CONFIG_A": "y", "CONFIG_B": "n", "CONFIG_C": '"x y"'}


def test_fragments_are_common_then_arch_then_user(tmp_path: Path):
    user = tmp_path / "mine.config"
    user.write_text("CONFIG_KASAN=y\n")
    assert fragments_for(X86, (user,)) == (
        paths.CONFIGS_DIR / "common.config",
        paths.CONFIGS_DIR / "x86_64.config",
        user,
    )


def test_missing_user_fragment_is_a_usage_error(tmp_path: Path):
    with pytest.raises(UsageError, match=r"nope\.config not found"):
        fragments_for(X86, (tmp_path / "nope.config",))


def test_later_fragment_overrides_earlier(tmp_path: Path):
    user = tmp_path / "user.config"
    user.write_text("# CONFIG_DEBUG_VM is not set\n")
    wanted = requested_options(fragments_for(X86, (user,)))
    assert wanted["CONFIG_DEBUG_VM"].value == "n"
    assert wanted["CONFIG_DEBUG_VM"].fragment == user


def test_plain_tinyconfig_lacks_what_the_common_fragment_demands():
    """tinyconfig turns these off without a word; the common fragment must ask for them."""
    tiny = (DATA / "x86_64-tinyconfig-6.1.config").read_text()
    dropped = {d.requested.symbol for d in dropped_options(fragments_for(X86), tiny)}
    for symbol in (
        "CONFIG_BUG",
        "CONFIG_KALLSYMS",
        "CONFIG_ADVISE_SYSCALLS",
        "CONFIG_PRINTK_TIME",
        "CONFIG_USERFAULTFD",
        "CONFIG_ZRAM",
        "CONFIG_DEBUG_VM",
        "CONFIG_MEMCG",
        "CONFIG_VM_EVENT_COUNTERS",
    ):
        assert symbol in dropped


def test_zram_is_dropped_when_no_compressor_is_enabled():
    """A real olddefconfig run of the common fragment without CONFIG_CRYPTO_LZO."""
    final = (DATA / "x86_64-common-without-lzo-6.1.config").read_text()
    dropped = dropped_options(fragments_for(X86), final)
    described = {d.requested.symbol: d.describe() for d in dropped}
    assert set(described) == {"CONFIG_ZRAM", "CONFIG_ZSMALLOC", "CONFIG_CRYPTO_LZO"}
    assert described["CONFIG_ZRAM"].startswith("CONFIG_ZRAM=y (common.config:")
    assert described["CONFIG_ZRAM"].endswith("ended up CONFIG_ZRAM=n")


def test_flavours_pick_the_base_config():
    assert base_target(X86, "tiny") == "tinyconfig"
    assert base_target(get_arch("ppc64"), "full") == "pseries_defconfig"
    assert base_target(X86, "debug") == "tinyconfig"
    with pytest.raises(UsageError, match="unknown config flavour"):
        base_target(X86, "huge")


def test_ppc64_fragment_restores_16k_stacks_that_tinyconfig_shrinks():
    """tinyconfig starts 32-bit with 8K stacks; a ppc64 kernel keeps them unless asked."""
    tiny = (DATA / "ppc64-tinyconfig-6.1.config").read_text()
    assert parse_config(tiny)["CONFIG_THREAD_SHIFT"] == "13"
    dropped = {
        d.requested.symbol: d for d in dropped_options(fragments_for(get_arch("ppc64")), tiny)
    }
    assert dropped["CONFIG_THREAD_SHIFT"].requested.value == "14"
    assert dropped["CONFIG_THREAD_SHIFT"].actual == "13"


def test_debug_fragments_follow_the_arch_fragment(tmp_path: Path):
    user = tmp_path / "mine.config"
    user.write_text("CONFIG_KASAN_INLINE=y\n")
    assert fragments_for(get_arch("ppc64"), (user,), "debug") == (
        paths.CONFIGS_DIR / "common.config",
        paths.CONFIGS_DIR / "ppc64.config",
        paths.CONFIGS_DIR / "debug.config",
        paths.CONFIGS_DIR / "debug-ppc64.config",
        user,
    )


def test_the_debug_flavour_needs_its_boot_options():
    debug = get_flavour("debug")
    assert debug.cmdline == ("page_poison=1", "kasan_multi_shot")
    assert debug.timeout_factor > 1
    assert (get_flavour("tiny").cmdline, get_flavour("tiny").timeout_factor) == ((), 1.0)


CHECKERS = {
    "x86_64": {"KASAN", "KFENCE", "PAGE_TABLE_CHECK", "DEBUG_PAGEALLOC", "PAGE_POISONING"},
    "ppc64": {"KASAN", "KFENCE", "DEBUG_PAGEALLOC", "PAGE_POISONING"},
}


@pytest.mark.parametrize("version", ["6.1", "6.12"])
@pytest.mark.parametrize("name", ["x86_64", "ppc64"])
def test_debug_fragments_hold_on_both_debian_kernels(name: str, version: str):
    """Final configs of real debug-flavour configure runs keep every requested option."""
    final = (DATA / f"{name}-debug-{version}.config").read_text()
    fragments = fragments_for(get_arch(name), flavour="debug")
    assert dropped_options(fragments, final) == []
    values = parse_config(final)
    common = {"DEBUG_VM_PGTABLE", "DEBUG_LIST", "PROVE_LOCKING", "KASAN_GENERIC"}
    assert {f"CONFIG_{name}" for name in CHECKERS[name] | common} <= {
        symbol for symbol, value in values.items() if value == "y"
    }
    assert ("CONFIG_PAGE_TABLE_CHECK" in values) is (name == "x86_64")
