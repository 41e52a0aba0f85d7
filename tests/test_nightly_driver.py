"""The nightly driver's bookkeeping: attempts of a cell as history rows, failed builds, slots.
(A whole night on real guests is tests/test_nightly_run.py.)"""

import json
import shutil
from pathlib import Path

from lab.errors import BuildError
from lab.history.model import combined_state
from lab.nightly.driver import CellRun, cell_dir_name, failed_build_attempt
from lab.nightly.matrix import load_matrix
from lab.results.records import CaseRecord
from lab.run.lab_run import ArchRun
from lab.runtime.local import LocalRuntime

RECORDED = Path(__file__).parent / "data" / "runs" / "20261122-105125"


def matrix_cell(tmp_path, arch="ppc64"):
    path = tmp_path / "m.toml"
    path.write_text(
        f'[[kernels]]\nsource = "debian-6.1"\narches = ["{arch}"]\nsuites = ["nopfn"]\n'
    )
    (cell,) = load_matrix(path).cells
    return cell


def recorded_attempt(night: Path, cell, n: int, failing: str = "") -> tuple[Path, ArchRun]:
    """A copy of a real ppc64 run as attempt n of the cell, optionally with a case failed."""
    attempt = night / cell_dir_name(cell) / f"try{n}"
    shutil.copytree(RECORDED, attempt)
    summary = json.loads((attempt / "run.json").read_text())
    entry = summary["arches"][0]
    entry.update(
        source="debian-6.1",
        console_logs=["ppc64/boot1-console.log"],
        boot_records=[0],
        kernel_log="ppc64/kernel.log",
    )
    (attempt / "run.json").write_text(json.dumps(summary))
    records = [
        CaseRecord(**r) for r in json.loads((attempt / "results.json").read_text())["records"]
    ]
    records = [
        CaseRecord(r.arch, r.suite, r.case, "fail", r.duration_s, "x", "")
        if r.case == failing
        else r
        for r in records
    ]
    return attempt, ArchRun("ppc64", build_id=entry["build_id"], records=records)


def test_attempts_of_a_cell_count_on_and_keep_their_logs(tmp_path):
    cell = matrix_cell(tmp_path)
    run = CellRun(
        cell,
        [
            recorded_attempt(tmp_path, cell, 1, failing="nopfn/data_threads"),
            recorded_attempt(tmp_path, cell, 2),
        ],
    )
    info, rows = run.rows("20261123-010000")
    assert (info.key, info.kernel, info.run_id) == (
        "debian-6.1/ppc64/none",
        "debian-6.1",
        "20261123-010000",
    )
    assert info.console_log == "debian-6.1_ppc64_none/try1/ppc64/boot1-console.log"
    data = [r for r in rows if r.case == "nopfn/data_threads"]
    assert [(r.attempt, r.state) for r in data] == [(1, "fail"), (2, "pass")]
    assert combined_state(r.state for r in data) == "fail"
    assert data[1].kernel_log == "debian-6.1_ppc64_none/try2/ppc64/kernel.log"
    assert len(rows) == 2 * len(json.loads((RECORDED / "results.json").read_text())["records"])


def test_a_cell_whose_kernel_did_not_build_is_a_build_failure_with_nothing_run(tmp_path):
    cell = matrix_cell(tmp_path, arch="x86_64")
    run = CellRun(cell)
    error = BuildError("x86_64 kernel did not build: mm/memory.c:42: error: expected ';'")
    failed_build_attempt(run, error, tmp_path / cell_dir_name(cell), seed=7)
    info, rows = run.rows("20261123-010000")
    assert info.build_state == "fail"
    assert rows and all(r.state == "infra" for r in rows)
    assert rows[0].message.startswith("build: x86_64 kernel did not build")
    assert (tmp_path / "debian-6.1_x86_64_none" / "try1" / "results.json").is_file()


def test_at_least_one_cell_at_a_time_and_never_more_than_there_are():
    assert LocalRuntime().slots(8) >= 1
    assert LocalRuntime().slots(1) == 1
