"""Peer suites: their suite.toml, the builder registry, stress-ng from the host's Debian
package with what it loads, the binary cache."""

import json
import shutil
import stat
from pathlib import Path

import pytest

from lab import proc
from lab.arch import get_arch
from lab.errors import BuildError, UsageError
from lab.image.initramfs import peer_entries
from lab.kernel.build import builds_root, load_build
from lab.peers import artifacts, kselftest, sharedlibs, stressng
from lab.peers.registry import BUILDERS, build_peer
from lab.suites.catalogue import Suite, all_suites, load_suite
from lab.suites.knobs import Knobs

X86_64, PPC64 = get_arch("x86_64"), get_arch("ppc64")
PEERS = [s for s in all_suites().values() if s.builder]


@pytest.fixture
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FAULTLAB_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_every_peer_suite_has_a_registered_builder_and_no_sources():
    assert sorted(s.name for s in PEERS) == ["mm-selftests", "stress-ng"]
    for suite in PEERS:
        assert suite.builder in BUILDERS
        assert all(p.source is None for p in suite.programs)
    names = [p.name for s in all_suites().values() for p in s.programs]
    assert len(names) == len(set(names)), "program names are output file names: keep unique"


def test_stress_ng_has_one_program_per_stressor_with_verify_and_metrics():
    suite = all_suites()["stress-ng"]
    stressors = [p.args[0] for p in suite.programs]
    assert stressors[:4] == ["--remap", "--fault", "--mmap", "--vm"]
    for program in suite.programs:
        assert (program.file, program.output) == ("stress-ng", "exit-status")
        assert program.name == "stress-ng-" + program.args[0].removeprefix("--")
        assert {"--verify", "--metrics-brief"} <= set(program.args)
        assert program.exit_status.skip == (4,)
        assert program.exit_status.meaning(2) == "one or more stressors failed"


def test_stress_ng_runs_for_the_duration_knob_and_10s_without_it():
    program = all_suites()["stress-ng"].programs[0]
    argv = program.argv(PPC64, Knobs(seed=7))
    assert argv[:5] == ["/lab/bin/stress-ng", "--remap", "1", "--timeout", "10s"]
    assert argv[argv.index("--seed") + 1] == "7"
    assert program.timeout_for(Knobs(seed=7)) == program.timeout_s + 15
    assert program.argv(PPC64, Knobs(seed=7, duration_s=90))[4] == "90s"


def test_mm_selftests_settings():
    programs = {p.name: p for p in all_suites()["mm-selftests"].programs}
    assert programs["mremap_test"].sysctl == (("vm.overcommit_memory", "1"),)
    assert programs["mremap_test"].argv(X86_64, Knobs(seed=3)) == [
        "/lab/bin/mremap_test",
        "-p",
        "3",
    ]
    uffd = programs["userfaultfd-shmem"]
    assert uffd.argv(X86_64, Knobs(seed=3)) == ["/lab/bin/userfaultfd", "shmem", "16", "4"]
    assert uffd.skip_reason("ppc64").startswith("6.1's test asks UFFDIO_API for every feature")
    assert uffd.skip_reason("x86_64") == ""
    assert programs["madv_populate"].output == "ktap"
    assert programs["mlock2-tests"].output == "exit-status"


def write_suite(tmp_path: Path, text: str) -> Path:
    directory = tmp_path / "peer"
    directory.mkdir()
    (directory / "suite.toml").write_text(text)
    return directory


def test_a_peer_program_with_a_source_is_refused(tmp_path: Path):
    directory = write_suite(
        tmp_path, 'builder = "stress-ng"\n[[programs]]\nname = "x"\nsource = "x.c"\n'
    )
    with pytest.raises(UsageError, match="program x: the suite has a builder"):
        load_suite(directory)


def test_an_unknown_output_kind_is_refused(tmp_path: Path):
    directory = write_suite(tmp_path, '[[programs]]\nname = "x"\nsource = "x.c"\noutput = "tap"\n')
    with pytest.raises(UsageError, match="output 'tap' is not one of ktap, exit-status"):
        load_suite(directory)


def test_an_unknown_builder_is_named():
    with pytest.raises(UsageError, match="unknown builder 'nope'; known: kselftest-mm"):
        build_peer(Suite("x", "", (), builder="nope"), X86_64, None)


def test_stress_ng_builder_makes_nothing_else():
    with pytest.raises(UsageError, match="stress-ng binary only, not ls"):
        stressng.build(X86_64, None, ("ls",))


def test_stress_ng_is_absent_on_ppc64_with_the_reason():
    built = stressng.build(PPC64, None, ("stress-ng",))
    assert built.binaries == {} and built.libraries == {}
    reason = built.absent["stress-ng"]
    assert reason.startswith(
        "stress-ng is not available on ppc64: Debian bookworm has no ppc64 binary package of it"
    )
    assert "does not serve its source tarball" in reason


def test_a_missing_stress_ng_package_is_named(private_cache: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(stressng, "PACKAGE", "faultlab-no-such-package")
    with pytest.raises(
        BuildError,
        match=r"the Debian package faultlab-no-such-package is not "
        r"installed; install it \(apt-get install "
        r"faultlab-no-such-package, or run `make deps`\)",
    ):
        stressng.build(X86_64, None, ("stress-ng",))


def installed_stress_ng() -> str:
    """The host's stress-ng package version, or skip (make deps installs it)."""
    try:
        return stressng.installed_version("amd64")
    except BuildError as e:
        pytest.skip(str(e))


def test_stress_ng_is_debians_binary_with_what_it_loads(private_cache: Path):
    version = installed_stress_ng()
    built = stressng.build(X86_64, None, ("stress-ng",))
    assert built.binaries["stress-ng"].read_bytes() == Path("/usr/bin/stress-ng").read_bytes()
    assert {
        "lib64/ld-linux-x86-64.so.2",
        "lib/x86_64-linux-gnu/libc.so.6",
        "lib/x86_64-linux-gnu/libJudy.so.1",
    } <= set(built.libraries)
    manifest = json.loads((built.binaries["stress-ng"].parent.parent / "manifest.json").read_text())
    assert manifest["inputs"]["package"] == f"stress-ng {version} amd64"
    assert stressng.build(X86_64, None, ("stress-ng",)) == built  # a cache hit


def compile_x86_64(tmp_path: Path, name: str, source: str, *flags: str) -> Path:
    (tmp_path / f"{name}.c").write_text(source)
    proc.run([X86_64.compiler, "-o", str(tmp_path / name), str(tmp_path / f"{name}.c"), *flags])
    return tmp_path / name


def test_runtime_files_are_what_the_dynamic_linker_loads(tmp_path: Path):
    binary = compile_x86_64(tmp_path, "p", "int main(void) { return 0; }\n")
    files = sharedlibs.runtime_files(binary)
    assert set(files) == {"lib64/ld-linux-x86-64.so.2", "lib/x86_64-linux-gnu/libc.so.6"}
    assert all(path.is_file() and not path.is_symlink() for path in files.values())


def test_a_library_the_dynamic_linker_lacks_is_named(tmp_path: Path):
    compile_x86_64(
        tmp_path,
        "libgone.so",
        "int gone(void) { return 1; }\n",
        "-shared",
        "-fPIC",
        "-Wl,-soname,libgone.so.1",
    )
    binary = compile_x86_64(
        tmp_path,
        "p",
        "int gone(void);\nint main(void) { return gone(); }\n",
        f"-L{tmp_path}",
        "-lgone",
    )
    with pytest.raises(
        BuildError,
        match=r"p needs libgone.so.1, which the host's dynamic "
        "linker does not find",
    ):
        sharedlibs.runtime_files(binary)


def static_binary(tmp_path: Path, static: bool = True) -> Path:
    return compile_x86_64(
        tmp_path,
        "p-static" if static else "p-dynamic",
        "int main(void) { return 0; }\n",
        *(["-static"] if static else []),
    )


def test_cache_entries_hold_static_binaries_for_the_arch(private_cache: Path, tmp_path: Path):
    binary = static_binary(tmp_path)
    directory = artifacts.entry_dir("test", "f" * 64)
    assert artifacts.load(directory) is None
    build = artifacts.PeerBuild({"p": binary}, {"q": "not in this source"}, 1.5)
    stored = artifacts.store(X86_64, tmp_path / "staging", directory, build, {"k": 1})
    assert stored == artifacts.PeerBuild(
        {"p": directory / "bin" / "p"}, {"q": "not in this source"}, 1.5
    )
    assert artifacts.load(directory) == stored
    assert not (tmp_path / "staging").exists()
    with pytest.raises(BuildError, match="EM_X86_64 little-endian file, not one for ppc64"):
        artifacts.check_binary(binary, PPC64)
    with pytest.raises(
        BuildError,
        match=r"dynamically linked, and its interpreter "
        r"/lib64/ld-linux-x86-64\.so\.2 is not shipped",
    ):
        artifacts.check_binary(static_binary(tmp_path, static=False), X86_64)


def test_cache_entries_hold_dynamic_binaries_with_what_they_load(
    private_cache: Path, tmp_path: Path
):
    binary = static_binary(tmp_path, static=False)
    libraries = sharedlibs.runtime_files(binary)
    directory = artifacts.entry_dir("test", "e" * 64)
    build = artifacts.PeerBuild({"p": binary}, {}, 0.5, libraries)
    stored = artifacts.store(X86_64, tmp_path / "staging", directory, build, {"k": 2})
    assert stored.libraries == {name: directory / "root" / name for name in libraries}
    for name, path in libraries.items():
        assert stored.libraries[name].read_bytes() == path.read_bytes()
    assert artifacts.load(directory) == stored


def test_the_initramfs_gets_peer_libraries_at_their_paths_or_absent_reasons(private_cache):
    suite = all_suites()["stress-ng"]
    programs, absent = [], {}
    assert peer_entries(PPC64, suite, object(), programs, absent) == []
    assert programs == [] and set(absent) == {p.name for p in suite.programs}
    installed_stress_ng()
    absent = {}
    entries = {e.name: e for e in peer_entries(X86_64, suite, object(), programs, absent)}
    assert programs == [p.name for p in suite.programs] and absent == {}
    assert {
        "lab/bin/stress-ng",
        "lib64",
        "lib64/ld-linux-x86-64.so.2",
        "lib",
        "lib/x86_64-linux-gnu",
        "lib/x86_64-linux-gnu/libc.so.6",
    } <= set(entries)
    assert stat.S_ISDIR(entries["lib/x86_64-linux-gnu"].mode)


def load_build_of(source: str, arch: str):
    """Any finished build of `source` for `arch` in the cache (its metadata is what counts)."""
    for directory in sorted(builds_root().iterdir()):
        meta = directory / "metadata.json"
        if (
            meta.exists()
            and f'"source": "{source}"' in meta.read_text()
            and f'"arch": "{arch}"' in meta.read_text()
        ):
            return load_build(str(directory))
    pytest.skip(f"no {arch} build of {source} in the cache (lab build --source {source})")


@pytest.mark.integration
def test_selftests_are_built_from_the_kernels_own_source(tmp_path: Path):
    """A real build of two 6.1 selftests (and one that 6.1 does not have), then a cache hit."""
    kernel = load_build_of("debian-6.1", "x86_64")
    built = kselftest.build(X86_64, kernel, ("madv_populate", "mkdirty", "mremap_dontunmap"))
    assert sorted(built.binaries) == ["madv_populate", "mremap_dontunmap"]
    assert built.absent == {
        "mkdirty": "mkdirty is not among tools/testing/selftests/vm of debian-6.1"
    }
    for path in built.binaries.values():
        artifacts.check_binary(path, X86_64)
    again = kselftest.build(X86_64, kernel, ("madv_populate", "mkdirty", "mremap_dontunmap"))
    assert again == built
    shutil.rmtree(built.binaries["madv_populate"].parent.parent)
