"""Records of a recorded nopfn run with bug 1 (PFN inserted without the state lock)."""

from pathlib import Path

from lab.results.ktap import parse_ktap
from lab.run.program import ProgramOutcome, records_for
from lab.suites.catalogue import all_suites

RECORDED = Path(__file__).parent / "data" / "nopfn" / "x86_64-bug1.ktap"


def test_a_failed_case_is_summed_up_by_its_first_fail_line():
    program = next(p for p in all_suites()["nopfn"].programs if p.name == "nopfn")
    ktap = parse_ktap(RECORDED.read_text())
    records = {r.case: r for r in records_for(ProgramOutcome("x86_64", program, None, ktap, []))}
    assert records["nopfn/module"].state == "pass"
    geometry = records["nopfn/area_geometry"]
    assert geometry.state == "fail"
    assert geometry.message.startswith("signal1 does not alias problem-state offset 0x14000")
    assert "# FAIL: signal1" in geometry.details
    failed = sorted(case for case, r in records.items() if r.state == "fail")
    assert "nopfn/data_threads" in failed and "nopfn/totals" in failed
    assert all(records[case].message not in ("", "fail") for case in failed)
