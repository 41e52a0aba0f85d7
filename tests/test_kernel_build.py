"""Real kernels from linux-source-6.1: artifacts, identity, cache hits, patches."""

import json
from pathlib import Path

import pytest

from lab import paths
from lab.arch import ARCHES
from lab.errors import BuildError, PatchError
from lab.kernel.build import BuildRequest, build_kernel, configure_kernel
from lab.kernel.config import parse_config
from lab.kernel.gitrepo import git
from lab.kernel.inspect import check_identity, inspect_vmlinux
from lab.kernel.series import load_series
from lab.kernel.source import resolve_source

pytestmark = pytest.mark.integration
SERIES = Path(__file__).parent / "data" / "series"
EXAMPLES = paths.PROJECT_ROOT / "patches" / "examples"

# tinyconfig turns these off silently; a fault lab cannot work without them.
ORACLE_OPTIONS = (
    "CONFIG_BUG",
    "CONFIG_KALLSYMS",
    "CONFIG_ADVISE_SYSCALLS",
    "CONFIG_PRINTK_TIME",
    "CONFIG_USERFAULTFD",
    "CONFIG_ZRAM",
    "CONFIG_DEBUG_VM",
    "CONFIG_LKDTM",
    "CONFIG_FAIL_PAGE_ALLOC",
    "CONFIG_MEMCG",
    "CONFIG_SWAP",
    "CONFIG_VM_EVENT_COUNTERS",
    "CONFIG_PSI",
    "CONFIG_SCHED_STACK_END_CHECK",
)


def test_artifacts_and_metadata(kernel, arch):
    for name in (
        kernel.metadata["boot_image"],
        "vmlinux",
        "config",
        "System.map",
        "build.log",
        "metadata.json",
    ):
        assert (kernel.dir / name).is_file(), name
    meta = kernel.metadata
    assert meta["arch"] == arch.name
    assert meta["source"] == "debian-6.1"
    assert meta["release"].startswith("6.1.")
    assert meta["reproducer"].startswith(f"lab build --arch {arch.name} --source debian-6.1")
    assert meta["toolchain"]["gcc"].startswith(arch.compiler)
    assert meta["durations"]["build_s"] > 0
    assert "make" in meta and f"ARCH={arch.kernel_arch}" in meta["make"]


def test_vmlinux_identity_matches_arch(kernel, arch):
    identity = inspect_vmlinux(kernel.vmlinux)
    assert identity.machine == arch.elf_machine
    assert identity.big_endian == arch.big_endian
    assert identity.release == kernel.release
    check_identity(identity, arch, kernel.vmlinux)
    other = next(a for a in ARCHES.values() if a.name != arch.name)
    with pytest.raises(BuildError, match=f"is not an {other.name} kernel"):
        check_identity(identity, other, kernel.vmlinux)


def test_config_kept_every_oracle_option(kernel, arch):
    config = parse_config((kernel.dir / "config").read_text())
    for symbol in ORACLE_OPTIONS:
        assert config.get(symbol) == "y", symbol
    if arch.name == "ppc64":
        for symbol in (
            "CONFIG_PPC_64K_PAGES",
            "CONFIG_CPU_BIG_ENDIAN",
            "CONFIG_PPC_PSERIES",
            "CONFIG_PPC_IBM_CELL_BLADE",
            "CONFIG_SPU_FS",
        ):
            assert config.get(symbol) == "y", symbol
        assert config["CONFIG_FRAME_WARN"] == "2048"
        assert config["CONFIG_THREAD_SHIFT"] == "14"  # not tinyconfig's 32-bit 8K stacks


def test_unchanged_request_is_a_cache_hit(kernel, arch):
    again = build_kernel(BuildRequest(arch=arch))
    assert again.id == kernel.id
    assert again.metadata["created"] == kernel.metadata["created"]


def test_patch_that_does_not_apply_names_it_and_leaves_the_source_pristine(kernel, arch):
    source = resolve_source("debian-6.1")
    with pytest.raises(PatchError) as err:
        build_kernel(BuildRequest(arch=arch, series=SERIES / "bad"))
    assert "patch 0002-mm-msync-comment-the-flags-check.patch does not apply" in str(err.value)
    assert "mm/msync.c: hunk #1 FAILED at line 40" in str(err.value)
    assert git(source.repo, "status", "--porcelain") == ""
    assert git(source.repo, "rev-parse", "HEAD") == source.commit


def test_patched_build_is_incremental_and_recorded(kernel, arch):
    patched = build_kernel(BuildRequest(arch=arch, series=EXAMPLES / "msync-comments"))
    assert patched.id != kernel.id
    assert patched.metadata["patches"] == [
        "0001-mm-msync-add-a-comment-at-the-syscall-entry.patch",
        "0002-mm-msync-comment-the-flags-check.patch",
    ]
    compiled = [
        line.split()[-1]
        for line in (patched.dir / "build.log").read_text().splitlines()
        if line.startswith("  CC ")
    ]
    assert "mm/msync.o" in compiled
    assert len(compiled) < 20, compiled  # only what the patch touched, plus version stamps
    metadata = json.loads((patched.dir / "metadata.json").read_text())
    assert metadata["series_sha256"] and metadata["tree_hash"] != kernel.metadata["tree_hash"]


def test_full_flavour_keeps_every_requested_option(kernel, arch):
    """The fuller flavour: the arch defconfig plus the same fragments, verified by kconfig."""
    full = parse_config(configure_kernel(BuildRequest(arch=arch, flavour="full")))
    tiny = parse_config((kernel.dir / "config").read_text())
    for symbol in ORACLE_OPTIONS:
        assert full.get(symbol) == "y", symbol
    enabled = [values.count("y") for values in (list(full.values()), list(tiny.values()))]
    assert enabled[0] > enabled[1] + 300  # defconfig brings far more than tinyconfig


def test_a_thread_builds_with_the_revision_b4_took(kernel, arch):
    thread = EXAMPLES / "msync-comments-thread.mbox"
    series = load_series(thread)
    built = build_kernel(BuildRequest(arch=arch, series=thread))
    assert built.id != kernel.id
    meta = built.metadata
    # a cached build keeps the path it was first built from: the content is what counts
    assert (Path(meta["series"]).name, meta["series_sha256"]) == (thread.name, series.digest)
    assert meta["patches"] == series.names and len(meta["patches"]) == 3
    assert meta["thread"]["revision"] == 2 and meta["thread"]["skipped"] == []
    assert meta["thread"]["message_ids"] == [
        f"20261207090000.{n}-dev@example.org" for n in range(4)
    ]
    src = Path(meta["build_tree"]) / "src"
    messages = git(src, "log", "--format=%B", f"{meta['source_commit']}..HEAD")
    assert messages.count("Reviewed-by: Rita Reviewer <rita@example.org>") == 3
    assert "Tested-by: Tess Tester <tess@example.org>" in messages
