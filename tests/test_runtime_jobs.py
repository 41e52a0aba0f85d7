"""The nightly's job specs travel as JSON and come back whole; attempt files travel as one
tar; the store shares builds and blobs atomically and checks what it hands out."""

import json
from dataclasses import asdict
from pathlib import Path

import pytest

from lab.nightly.jobs import AttemptJob, BuildJob, arch_run
from lab.nightly.matrix import BuildSpec, load_matrix
from lab.results.records import CaseRecord
from lab.run.lab_run import ArchRun
from lab.runtime.packing import pack, unpack
from lab.runtime.store import DirectoryStore

RECORDED = Path(__file__).parent / "data" / "runs" / "20261122-105125"


def cell(tmp_path):
    path = tmp_path / "m.toml"
    path.write_text(
        '[[kernels]]\nsource = "debian-6.1"\narches = ["ppc64-hash"]\n'
        'suites = ["smoke", "nopfn"]\npressure = ["heavy"]\nduration = "90"\n'
        'series = "patches/selftest/remap-drops-mlock"\n'
    )
    (only,) = load_matrix(path).cells
    return only


def test_an_attempt_job_survives_json_and_asks_for_its_queue(tmp_path):
    job = AttemptJob(cell(tmp_path), ("nopfn",), 42, "35f5690e297e9f1f")
    back = AttemptJob.from_dict(json.loads(json.dumps(job.to_dict())))
    assert back == job
    assert back.queue == "qemu-ppc64"
    request = back.request(tmp_path)
    assert [s.name for s in request.suites] == ["nopfn"]
    assert (request.kernel, request.guest.mmu, request.guest.pressure) == (
        "35f5690e297e9f1f",
        "hash",
        "heavy",
    )
    assert (request.knobs.seed, request.knobs.duration_s) == (42, 90)
    assert request.build.series.name == "remap-drops-mlock"


def test_a_build_job_survives_json():
    job = BuildJob(BuildSpec("debian-6.12", "", "x86_64", "full"))
    assert BuildJob.from_dict(json.loads(json.dumps(job.to_dict()))) == job
    assert job.queue == "build"


def test_an_arch_run_comes_back_from_its_dict_with_its_records():
    record = CaseRecord("x86_64", "smoke", "smoke/anon", "pass", 0.5, "", "")
    run = ArchRun(
        "x86_64",
        build_id="abc",
        records=[record],
        boot_s=[2.5],
        console_logs=["x86_64/boot1-console.log"],
    )
    assert arch_run(json.loads(json.dumps(asdict(run)))) == run


def test_attempt_files_travel_as_one_tar(tmp_path):
    unpack(pack(RECORDED), tmp_path / "back")
    for path in RECORDED.rglob("*"):
        if path.is_file():
            assert (
                tmp_path / "back" / path.relative_to(RECORDED)
            ).read_bytes() == path.read_bytes()


def test_the_store_shares_a_build_once_and_hands_out_whole_copies(tmp_path):
    build = tmp_path / "cache" / "0123456789abcdef"
    build.mkdir(parents=True)
    (build / "vmlinux").write_bytes(b"\x7fELF" * 1000)
    (build / "metadata.json").write_text('{"id": "0123456789abcdef"}')
    store = DirectoryStore(tmp_path / "store")
    assert not store.fetch_build(build.name, tmp_path / "other" / build.name)
    store.put_build(build)
    (build / "vmlinux").write_bytes(b"changed")
    store.put_build(build)  # already there: the first copy stays
    assert store.fetch_build(build.name, tmp_path / "other" / build.name)
    assert (tmp_path / "other" / build.name / "vmlinux").read_bytes() == b"\x7fELF" * 1000
    assert not [p for p in (tmp_path / "store" / "builds").iterdir() if p.name.startswith(".")]


def test_a_damaged_blob_is_refused(tmp_path):
    store = DirectoryStore(tmp_path)
    digest = store.put_blob(b"kernel log")
    assert store.get_blob(digest) == b"kernel log"
    (tmp_path / "blobs" / digest).write_bytes(b"kernel lag")
    with pytest.raises(OSError, match="damaged"):
        store.get_blob(digest)
