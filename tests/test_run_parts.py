"""Parts of a run at once (`lab run --target A --target B`): each in its own thread saving
its progress, the reports written one at a time with every part's records in the parts'
order, a part that fails not stopping the others, and the history telling same-arch
targets apart."""

import json
import threading
import time
import xml.etree.ElementTree as ET
from functools import partial

import pytest

from lab.arch import get_arch
from lab.cli import main, target_names
from lab.errors import UsageError
from lab.history.ingest import read_run_dir
from lab.kernel.build import BuildRequest
from lab.results.records import CaseRecord
from lab.run.lab_run import ArchRun, RunRequest, run_lab
from lab.suites.catalogue import all_suites
from lab.transport.url import parse_target

X86 = get_arch("x86_64")
REQUEST = RunRequest((X86,), (all_suites()["smoke"],), BuildRequest(X86))


def target_part(name: str, programs: int, started: threading.Barrier, run_dir, saved):
    """A target that runs `programs` programs, saving after each, after all parts began."""
    started.wait(timeout=10)
    outcome = ArchRun("x86_64", release="6.1", source=f"target:{name}", target=f"ssh://{name} x")
    for index in range(programs):
        time.sleep(0.01)
        outcome.records.append(
            CaseRecord("x86_64", "smoke", f"case{index}", "pass", 0.0, "", "", f"ssh://{name}")
        )
        saved(outcome)
    return outcome


def records(run_dir) -> list[tuple[str, str]]:
    data = json.loads((run_dir / "results.json").read_text())
    return [(r["target"], r["case"]) for r in data["records"]]


def test_parts_run_at_once_and_their_records_keep_the_parts_order(tmp_path):
    started = threading.Barrier(2)  # both must be running together, or this times out
    parts = [partial(target_part, "b", 40, started), partial(target_part, "a", 30, started)]
    runs = run_lab(REQUEST, tmp_path, parts, at_once=True)
    assert [run.target for run in runs] == ["ssh://b x", "ssh://a x"]
    expected = [("ssh://b", f"case{i}") for i in range(40)]
    expected += [("ssh://a", f"case{i}") for i in range(30)]
    assert records(tmp_path) == expected
    summary = json.loads((tmp_path / "run.json").read_text())
    assert summary["complete"] and [e["target"] for e in summary["arches"]] == [
        "ssh://b x",
        "ssh://a x",
    ]
    junit = ET.parse(tmp_path / "junit.xml").getroot()
    assert [(s.get("name"), s.get("tests")) for s in junit.findall("testsuite")] == [
        ("x86_64.smoke (ssh://b)", "40"),
        ("x86_64.smoke (ssh://a)", "30"),
    ]


def test_a_part_that_fails_does_not_stop_the_others_and_its_error_comes_last(tmp_path):
    started = threading.Barrier(2)

    def refused(run_dir, saved):
        started.wait(timeout=10)
        raise UsageError("ssh://c is ppc64le")

    parts = [refused, partial(target_part, "a", 5, started)]
    with pytest.raises(UsageError, match="ppc64le"):
        run_lab(REQUEST, tmp_path, parts, at_once=True)
    assert records(tmp_path) == [("ssh://a", f"case{i}") for i in range(5)]
    summary = json.loads((tmp_path / "run.json").read_text())
    assert (summary["complete"], summary["interrupted"]) == (False, "UsageError")


def test_the_history_keeps_same_arch_targets_apart(tmp_path):
    started = threading.Barrier(2)
    parts = [partial(target_part, "b", 2, started), partial(target_part, "a", 3, started)]
    run_dir = tmp_path / "20261207-120000"
    run_dir.mkdir()
    run_lab(REQUEST, run_dir, parts, at_once=True)
    cells = {cell.key.split("/")[0]: cell for cell in read_run_dir(run_dir).cells}
    assert set(cells) == {"target:a", "target:b"}
    rows = read_run_dir(run_dir).results
    assert sorted((r.cell.split("/")[0], r.case) for r in rows) == [
        ("target:a", "case0"),
        ("target:a", "case1"),
        ("target:a", "case2"),
        ("target:b", "case0"),
        ("target:b", "case1"),
    ]


def test_two_targets_with_one_host_name_are_refused_by_the_history(tmp_path):
    started = threading.Barrier(2)
    parts = [partial(target_part, "a", 1, started), partial(target_part, "a", 1, started)]
    run_dir = tmp_path / "20261207-120001"
    run_dir.mkdir()
    run_lab(REQUEST, run_dir, parts, at_once=True)
    with pytest.raises(UsageError, match="different host names"):
        read_run_dir(run_dir)


def test_each_target_gets_a_folder_named_by_its_host():
    urls = [parse_target(t) for t in ("ssh://root@127.0.0.1:2222", "ssh://b", "ssh://[fe80::1]")]
    assert target_names(urls) == ["127.0.0.1-2222", "b", "fe80-1"]
    same_host = [parse_target("ssh://root@blade"), parse_target("ssh://kernel@blade")]
    assert target_names(same_host) == ["root-blade", "kernel-blade"]


def test_a_target_given_twice_is_refused_before_any_work(tmp_path, capsys):
    status = main(["run", "--target", "ssh://b", "--target", "ssh://b", "--results", str(tmp_path)])
    assert status == 2
    assert "--target ssh://b is given twice" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_a_target_that_never_answered_stays_out_of_the_history_and_the_others_go_in(tmp_path):
    started = threading.Barrier(2)

    def silent(run_dir, saved):
        started.wait(timeout=10)
        infra = CaseRecord(
            "unknown", "smoke", "smoke", "infra", 0.0, "refused", "", target="ssh://c"
        )
        return ArchRun("unknown", target="ssh://c", records=[infra])

    parts = [silent, partial(target_part, "a", 2, started)]
    run_dir = tmp_path / "20261207-120002"
    run_dir.mkdir()
    run_lab(REQUEST, run_dir, parts, at_once=True)
    assert [r for r, _ in records(run_dir)] == ["ssh://c", "ssh://a", "ssh://a"]
    (cell,) = read_run_dir(run_dir).cells
    assert cell.key.startswith("target:a/")
