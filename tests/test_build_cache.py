"""Build cache entries: named by id or by directory, checked against their recorded sums; a
damaged one is refused when named and built again when a build asks for it."""

import json
import shutil
from pathlib import Path

import pytest

from lab.errors import InfraError, UsageError
from lab.kernel.build import DamagedBuild, cached_build, file_digests, load_build


@pytest.fixture
def entry(tmp_path, monkeypatch) -> Path:
    """A build cache entry as a build leaves it (small stand-in artifacts)."""
    monkeypatch.setenv("FAULTLAB_CACHE", str(tmp_path / "cache"))
    directory = tmp_path / "cache" / "builds" / "0123456789abcdef"
    directory.mkdir(parents=True)
    for name in ("bzImage", "vmlinux", "config", "System.map"):
        (directory / name).write_bytes(name.encode() * 1000)
    metadata = {
        "id": directory.name,
        "arch": "x86_64",
        "boot_image": "bzImage",
        "release": "6.1.192+",
    }
    metadata["files"] = file_digests(directory, ("bzImage", "config", "System.map", "vmlinux"))
    (directory / "metadata.json").write_text(json.dumps(metadata))
    return directory


def test_a_build_is_found_by_id_prefix_and_by_directory(entry):
    assert load_build("0123").dir == entry
    assert load_build(str(entry)).id == entry.name


def test_a_directory_that_does_not_exist_is_bad_input(tmp_path):
    with pytest.raises(
        UsageError,
        match=r"kernel /nowhere/build: /nowhere/build is not a "
        r"directory",
    ):
        load_build("/nowhere/build")
    with pytest.raises(UsageError, match=r"holds no metadata\.json"):
        load_build(str(tmp_path))


def test_a_metadata_file_cut_short_is_a_damaged_entry(entry):
    text = (entry / "metadata.json").read_text()
    (entry / "metadata.json").write_text(text[: len(text) // 2])
    with pytest.raises(DamagedBuild, match=r"is damaged: metadata.json: .*remove the directory"):
        load_build(entry.name)


def test_an_artifact_that_changed_or_went_is_a_damaged_entry(entry):
    (entry / "vmlinux").write_bytes(b"truncated")
    with pytest.raises(InfraError, match="vmlinux is not the file it built"):
        load_build(entry.name)
    (entry / "bzImage").unlink()
    with pytest.raises(InfraError, match="bzImage is missing"):
        load_build(entry.name)


def test_a_build_asking_for_a_damaged_entry_gets_it_removed_to_build_again(entry, capsys):
    assert cached_build(entry).id == entry.name
    (entry / "config").write_text("CONFIG_X=y\n")
    assert cached_build(entry) is None
    assert not entry.exists()
    assert "is damaged (config is not the file it built): building it again" in (
        capsys.readouterr().err
    )
    shutil.rmtree(entry.parent)
    assert cached_build(entry) is None
