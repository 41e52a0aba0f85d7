"""Peer suites: their suite.toml, the builder registry, Debian downloads, the binary cache."""

import hashlib
import shutil
from pathlib import Path

import pytest

from lab import proc
from lab.arch import get_arch
from lab.errors import BuildError, UsageError
from lab.kernel.build import builds_root, load_build
from lab.peers import artifacts, debian, kselftest, stressng
from lab.peers.registry import BUILDERS, build_peer
from lab.suites import Knobs, Suite, all_suites, load_suite

DATA = Path(__file__).parent / "data" / "peers"
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
        "/lab/bin/mremap_test", "-p", "3"]
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
    directory = write_suite(tmp_path, 'builder = "stress-ng"\n[[programs]]\nname = "x"\n'
                                      'source = "x.c"\n')
    with pytest.raises(UsageError, match="program x: the suite has a builder"):
        load_suite(directory)


def test_an_unknown_output_kind_is_refused(tmp_path: Path):
    directory = write_suite(tmp_path, '[[programs]]\nname = "x"\nsource = "x.c"\n'
                                      'output = "tap"\n')
    with pytest.raises(UsageError, match="output 'tap' is not one of ktap, exit-status"):
        load_suite(directory)


def test_an_unknown_builder_is_named():
    with pytest.raises(UsageError, match="unknown builder 'nope'; known: kselftest-mm"):
        build_peer(Suite("x", "", (), builder="nope"), X86_64, None)


def test_stress_ng_builder_makes_nothing_else():
    with pytest.raises(UsageError, match="stress-ng binary only, not ls"):
        stressng.build(X86_64, None, ("ls",))


def test_pinned_dsc_names_the_upstream_tarball():
    dsc = DATA / stressng.PACKAGE.dsc
    assert hashlib.sha256(dsc.read_bytes()).hexdigest() == stressng.PACKAGE.dsc_sha256
    assert debian.dsc_checksums(dsc.read_text()) == {
        "stress-ng_0.15.06.orig.tar.xz":
            ("5eeec9ac1f7e973ccb7e3c9c55159ad8c72e442d207b0fa15e661eb0eeb7a434", 3209284),
        "stress-ng_0.15.06-2.debian.tar.xz":
            ("17df83afd80fac8335b3dcfbdff7270b0ff51f4ce7b4b803f109f1d23f10a809", 161812),
    }
    assert stressng.PACKAGE.pool == "pool/main/s/stress-ng"


def test_apt_mirror_from_deb822_and_one_line_sources(tmp_path: Path):
    (tmp_path / "debian.sources").write_text(
        "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm\n")
    (tmp_path / "other.list").write_text("deb https://packages.example/apt stable main\n")
    assert debian.apt_mirror((tmp_path,)) == "http://mirror.example/debian"
    one_line = tmp_path / "sources.list"
    one_line.write_text("deb [arch=amd64] http://ftp.example/debian/ bookworm main\n")
    assert debian.apt_mirror((one_line,)) == "http://ftp.example/debian"
    assert debian.apt_mirror(()) == debian.DEFAULT_MIRROR


def local_mirror(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, files: dict[str, bytes]):
    pool = tmp_path / "mirror" / "pool" / "main" / "p" / "pkg"
    pool.mkdir(parents=True)
    for name, data in files.items():
        (pool / name).write_bytes(data)
    monkeypatch.setattr(debian, "apt_mirror", lambda: (tmp_path / "mirror").as_uri())


def test_fetch_verifies_and_caches(private_cache: Path, tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch):
    data = b"upstream source"
    digest = hashlib.sha256(data).hexdigest()
    local_mirror(tmp_path, monkeypatch, {"pkg_1.0.orig.tar.xz": data})
    package = debian.SourcePackage("pkg", "1.0-1", "0" * 64)
    path = debian.fetch(package, "pkg_1.0.orig.tar.xz", digest)
    assert path == private_cache / "downloads" / "pkg_1.0.orig.tar.xz"
    assert path.read_bytes() == data
    with pytest.raises(BuildError, match=r"sha256 .*, expected 0000"):
        debian.fetch(package, "pkg_1.0.orig.tar.xz", "0" * 64)
    assert path.read_bytes() == data  # the verified copy stays


def test_a_file_the_mirror_lacks_says_where_to_put_it(private_cache: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch):
    local_mirror(tmp_path, monkeypatch, {})
    package = debian.SourcePackage("pkg", "1.0-1", "0" * 64)
    with pytest.raises(debian.SourceUnavailable) as error:
        debian.fetch(package, "pkg_1.0.orig.tar.xz", "ab" * 32)
    message = str(error.value)
    assert "pool/main/p/pkg/pkg_1.0.orig.tar.xz" in message
    assert f"put it at {private_cache / 'downloads' / 'pkg_1.0.orig.tar.xz'}" in message


def static_binary(tmp_path: Path, static: bool = True) -> Path:
    source = tmp_path / "p.c"
    source.write_text("int main(void) { return 0; }\n")
    binary = tmp_path / ("p-static" if static else "p-dynamic")
    proc.run([X86_64.compiler, *(["-static"] if static else []), "-o", str(binary),
              str(source)])
    return binary


def test_cache_entries_hold_static_binaries_for_the_arch(private_cache: Path, tmp_path: Path):
    binary = static_binary(tmp_path)
    directory = artifacts.entry_dir("test", "f" * 64)
    assert artifacts.load(directory) is None
    build = artifacts.PeerBuild({"p": binary}, {"q": "not in this source"}, 1.5)
    stored = artifacts.store(X86_64, tmp_path / "staging", directory, build, {"k": 1})
    assert stored == artifacts.PeerBuild({"p": directory / "bin" / "p"},
                                         {"q": "not in this source"}, 1.5)
    assert artifacts.load(directory) == stored
    assert not (tmp_path / "staging").exists()
    with pytest.raises(BuildError, match="EM_X86_64 little-endian executable, not a static ppc64"):
        artifacts.check_static(binary, PPC64)
    with pytest.raises(BuildError, match="is a dynamic EM_X86_64"):
        artifacts.check_static(static_binary(tmp_path, static=False), X86_64)


def load_build_of(source: str, arch: str):
    """Any finished build of `source` for `arch` in the cache (its metadata is what counts)."""
    for directory in sorted(builds_root().iterdir()):
        meta = directory / "metadata.json"
        if meta.exists() and f'"source": "{source}"' in meta.read_text() \
                and f'"arch": "{arch}"' in meta.read_text():
            return load_build(str(directory))
    pytest.skip(f"no {arch} build of {source} in the cache (lab build --source {source})")


@pytest.mark.integration
def test_selftests_are_built_from_the_kernels_own_source(tmp_path: Path):
    """A real build of two 6.1 selftests (and one that 6.1 does not have), then a cache hit."""
    kernel = load_build_of("debian-6.1", "x86_64")
    built = kselftest.build(X86_64, kernel, ("madv_populate", "mkdirty", "mremap_dontunmap"))
    assert sorted(built.binaries) == ["madv_populate", "mremap_dontunmap"]
    assert built.absent == {"mkdirty": "mkdirty is not among tools/testing/selftests/vm of "
                                       "debian-6.1"}
    for path in built.binaries.values():
        artifacts.check_static(path, X86_64)
    again = kselftest.build(X86_64, kernel, ("madv_populate", "mkdirty", "mremap_dontunmap"))
    assert again == built
    shutil.rmtree(built.binaries["madv_populate"].parent.parent)
