"""The nopfn suite catches the known bug patterns of pfn-inserting fault handlers.

The lab's SPU emulation module brings each pattern back through its `bug` parameter (enum
flspu_bug in testsuites/nopfn/faultlab_spu.h); with each one the suite must fail: wrong
data, a refault loop caught by the program's own stall detector or timeout, or a kernel
warning. (The clean module passing is testsuites/nopfn/test_nopfn.py.)
"""

import dataclasses
from pathlib import Path

import pytest

from lab.run.lab_guest import LabGuest
from lab.suites.catalogue import all_suites
from lab.suites.knobs import parse_module_param

pytestmark = pytest.mark.integration
BUGS = {
    1: "PFN inserted without the state lock",
    2: "switch without unmap_mapping_range()",
    3: "VM_FAULT_NOPAGE without inserting anything",
    4: "context reference dropped while the mmap lock is released",
}
PROGRAM_TIMEOUT_S = 240  # a refault loop must end in a failure, not hold up the run


@pytest.mark.parametrize("bug", BUGS, ids=lambda b: f"bug{b}")
def test_suite_fails_with_the_bug_pattern(kernel, arch, knobs, bug: int, tmp_path: Path):
    suite = all_suites()["nopfn"]
    program = next(p for p in suite.programs if p.name == "nopfn")
    # the same route as `lab run --suite nopfn --module-param faultlab_spu.bug=N`
    bug_param = parse_module_param(f"faultlab_spu.bug={bug}")
    knobs = dataclasses.replace(knobs, module_params=(bug_param,))
    guest = LabGuest.of(kernel, [suite], tmp_path, knobs)
    try:
        outcome = guest.run_program(dataclasses.replace(program, timeout_s=PROGRAM_TIMEOUT_S))
    finally:
        guest.close()
    assert not outcome.passed, (
        f"bug {bug} ({BUGS[bug]}) went unnoticed:\n" + outcome.failure_report()
    )
    module = next(c for c in outcome.ktap.cases if c.name == "module")
    assert any(d.endswith(f" bug {bug}") for d in module.diagnostics), module.diagnostics
