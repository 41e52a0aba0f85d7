"""JUnit XML and results.json written from case records."""

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from lab.results.junit import write_junit
from lab.results.ktap import Status, parse_ktap
from lab.results.records import CaseRecord, RunStatus, write_results_json

KTAP = Path(__file__).parent / "data" / "ktap"

RECORDS = [
    CaseRecord("x86_64", "boot", "boot", "pass", 2.5, "", ""),
    CaseRecord("x86_64", "smoke", "smoke/remap_file_pages", "pass", 0.25, "", "# remapped 4 pages"),
    CaseRecord("x86_64", "smoke", "smoke/userfaultfd", "skip", 0.0, "SKIP no userfaultfd", ""),
    CaseRecord(
        "x86_64",
        "smoke",
        "smoke/kernel",
        "fail",
        1.0,
        "WARNING in lkdtm_WARNING",
        "------------[ cut here ]------------\nWARNING: CPU: 0 PID: 1 at ...",
    ),
    CaseRecord("ppc64", "smoke", "smoke/remap_file_pages", "infra", 0.0, "boot: timeout", "log"),
]


def write(tmp_path: Path, records: list[CaseRecord]) -> ET.Element:
    path = tmp_path / "junit.xml"
    write_junit(records, path)
    assert path.read_text().startswith("<?xml version='1.0' encoding='utf-8'?>")
    return ET.parse(path).getroot()


def test_one_testsuite_per_arch_and_suite(tmp_path: Path):
    root = write(tmp_path, RECORDS)
    assert (root.tag, root.get("name")) == ("testsuites", "faultlab")
    totals = {key: root.get(key) for key in ("tests", "failures", "errors", "skipped", "time")}
    assert totals == {"tests": "5", "failures": "1", "errors": "1", "skipped": "1", "time": "3.750"}
    suites = root.findall("testsuite")
    assert [suite.get("name") for suite in suites] == ["x86_64.boot", "x86_64.smoke", "ppc64.smoke"]
    smoke = suites[1]
    assert [smoke.get(k) for k in ("tests", "failures", "errors", "skipped", "time")] == [
        "3",
        "1",
        "0",
        "1",
        "1.250",
    ]
    assert [(case.get("classname"), case.get("name")) for case in smoke] == [
        ("x86_64.smoke", "smoke/remap_file_pages"),
        ("x86_64.smoke", "smoke/userfaultfd"),
        ("x86_64.smoke", "smoke/kernel"),
    ]


def test_outcome_elements(tmp_path: Path):
    root = write(tmp_path, RECORDS)
    boot, passed, skipped, failed, infra = root.iter("testcase")
    assert (boot.get("time"), list(boot)) == ("2.500", [])
    assert [child.tag for child in passed] == ["system-out"]
    assert passed.find("system-out").text == "# remapped 4 pages"
    skip = skipped.find("skipped")
    assert (skip.get("message"), skip.text) == ("SKIP no userfaultfd", None)
    failure = failed.find("failure")
    assert failure.get("message") == "WARNING in lkdtm_WARNING"
    assert failure.text.splitlines()[0] == "------------[ cut here ]------------"
    assert failed.find("system-out").text == failure.text
    error = infra.find("error")
    assert (error.get("message"), error.text) == ("boot: timeout", "log")
    assert infra.get("classname") == "ppc64.smoke"


def test_console_control_characters_stay_well_formed(tmp_path: Path):
    console = "Booting from ROM...\nc\x1b[?7l\x1b[2J\x00[    0.000000] Linux version 6.1.192"
    record = CaseRecord("x86_64", "boot", "boot", "infra", 0.0, "no agent\x07", console)
    (case,) = write(tmp_path, [record]).iter("testcase")
    error = case.find("error")
    assert error.get("message") == "no agent\\x07"
    assert (
        error.text.splitlines()[1] == "c\\x1b[?7l\\x1b[2J\\x00[    0.000000] Linux version 6.1.192"
    )


def test_records_from_a_real_ktap_failure(tmp_path: Path):
    suite = parse_ktap((KTAP / "test_is_test_passed-failure.log").read_text())
    state = {Status.PASS: "pass", Status.FAIL: "fail", Status.SKIP: "skip"}
    records = [
        CaseRecord(
            "x86_64",
            parent.name,
            case.name,
            state[case.status],
            0.0,
            case.status.value if case.status is not Status.PASS else "",
            "\n".join(case.diagnostics),
        )
        for parent in suite.cases
        for case in parent.subtests
    ]
    root = write(tmp_path, records)
    assert [s.get("name") for s in root.findall("testsuite")] == [
        "x86_64.sysctl_test",
        "x86_64.example",
    ]
    failed = [case for case in root.iter("testcase") if case.find("failure") is not None]
    assert [case.get("name") for case in failed] == ["example_simple_test"]
    failure = failed[0].find("failure")
    assert failure.get("message") == "fail"
    assert "# example_simple_test: EXPECTATION FAILED at lib/kunit/example-test.c:30" in (
        failure.text.splitlines()
    )


def test_results_json(tmp_path: Path):
    path = tmp_path / "results.json"
    write_results_json(RECORDS[:2], path)
    assert json.loads(path.read_text()) == {
        "records": [
            {
                "arch": "x86_64",
                "suite": "boot",
                "case": "boot",
                "state": "pass",
                "duration_s": 2.5,
                "message": "",
                "details": "",
            },
            {
                "arch": "x86_64",
                "suite": "smoke",
                "case": "smoke/remap_file_pages",
                "state": "pass",
                "duration_s": 0.25,
                "message": "",
                "details": "# remapped 4 pages",
            },
        ],
        "complete": True,
        "interrupted": "",
    }


def test_an_interrupted_run_says_so_in_both_files(tmp_path: Path):
    status = RunStatus(complete=False, interrupted="SIGTERM")
    write_results_json(RECORDS[:2], tmp_path / "results.json", status)
    data = json.loads((tmp_path / "results.json").read_text())
    assert (data["complete"], data["interrupted"], len(data["records"])) == (False, "SIGTERM", 2)
    write_junit(RECORDS[:2], tmp_path / "junit.xml", status)
    root = ET.parse(tmp_path / "junit.xml").getroot()
    for suite in root.findall("testsuite"):
        properties = {p.get("name"): p.get("value") for p in suite.iter("property")}
        assert properties == {"complete": "false", "interrupted": "SIGTERM"}
    assert not list(tmp_path.glob(".*.tmp"))  # replaced whole, nothing left beside


def test_unknown_state_is_rejected():
    with pytest.raises(ValueError, match="state 'crashed' is not one of pass, fail, skip, infra"):
        CaseRecord("x86_64", "smoke", "case", "crashed", 0.0, "", "")
