"""Coverage of target functions from real gcov data recorded in a guest (tests/data/gcov)."""

import shutil
from pathlib import Path

import pytest

from lab.arch import get_arch
from lab.run.gcov import (
    FunctionCoverage,
    coverage_of,
    format_table,
    function_range,
    line_counts,
    run_gcov,
    target_coverage,
)

DATA = Path(__file__).parent / "data" / "gcov" / "x86_64-nonlinear"
MMAP_C = (DATA / "mmap.c").read_text()


def test_syscall_definition_is_found_to_its_closing_brace():
    start, end = function_range(MMAP_C, "remap_file_pages")
    lines = MMAP_C.splitlines()
    assert lines[start - 1].startswith("SYSCALL_DEFINE5(remap_file_pages,")
    assert lines[end - 1] == "}"
    assert "do_mmap(" in "\n".join(lines[start:end])


def test_plain_definitions_and_prototypes():
    source = (
        "static int helper(int x);\n"
        "static int\nhelper(int x)\n{\n\treturn x;\n}\n"
        "unsigned long do_thing(struct vm_area_struct *vma,\n"
        "\t\tunsigned long addr)\n{\n\treturn 0;\n}\n"
    )
    assert function_range(source, "helper") == (3, 6)
    assert function_range(source, "do_thing") == (7, 11)
    assert function_range(source, "missing") is None


def test_recorded_nonlinear_run_covers_remap_file_pages():
    report = run_gcov(get_arch("x86_64"), DATA / "mmap.gcda")
    counts = line_counts(report, "mmap.c")
    (remap,) = coverage_of(MMAP_C, counts, "mmap.c", ("remap_file_pages",))
    # The suite's error cases and remaps ran most of the syscall, not all of it.
    assert remap.lines > 30
    assert remap.lines * 0.7 < remap.executed < remap.lines


def test_target_coverage_marks_missing_counter_files(tmp_path: Path):
    for name in ("mmap.gcda", "mmap.gcno"):
        shutil.copy2(DATA / name, tmp_path / name)
    result = {c.function: c for c in target_coverage(get_arch("x86_64"), tmp_path, DATA)}
    assert result["remap_file_pages"].executed > 0
    assert result["do_fault"].lines == 0 and result["do_fault"].cell() == "n/a"


def test_table_has_a_row_per_function_and_a_column_per_suite():
    cols = {
        "fault/fault": [FunctionCoverage("do_fault", "memory.c", 17, 13)],
        "nonlinear/nonlinear": [FunctionCoverage("do_fault", "memory.c", 17, 0)],
    }
    lines = format_table(cols).splitlines()
    assert lines[0].split() == ["function", "fault/fault", "nonlinear/nonlinear"]
    assert lines[1].split() == ["do_fault", "76%", "(13/17)", "0%", "(0/17)"]


@pytest.mark.parametrize("count, percent", [(0, 0.0), (5, 50.0), (10, 100.0)])
def test_percent(count, percent):
    assert FunctionCoverage("f", "x.c", 10, count).percent == percent
