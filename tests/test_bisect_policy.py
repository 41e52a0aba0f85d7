"""The verdict on a bisect candidate from its runs, and the runs it gets."""

import json
import shutil
from pathlib import Path

import pytest

from lab.arch.variants import get_variant
from lab.bisect.command import repeat_from_history
from lab.bisect.policy import (
    EXTRA_RUNS,
    BuildFailure,
    RunResult,
    Signature,
    default_repeat,
    evidence,
    needs_more,
    step_verdict,
)
from lab.history.classify import Outcome
from lab.history.ingest import ingest_run_dir
from lab.history.model import KernelIdentity
from lab.history.store import HistoryStore

CASE = Signature("smoke/smoke/remap_file_pages")
KERNEL_CASE = Signature("fault/fault/kernel", ("BUG: Bad page state in free_pages",))
PASS = RunResult("pass")
FAIL = RunResult("fail", message="does not show file page 3")
INFRA = RunResult(
    "missing", infra="boot: x86_64 guest did not reach its agent in 120s", completed=False
)
CRASH = RunResult("missing", problems=("kernel BUG in zap_pte_range",), completed=False)
OTHER_CASE_FAILED = RunResult("pass", problems=("WARNING in madvise_cold",))
RECORDED_RUN = Path(__file__).parent / "data" / "runs" / "20261122-105125"


@pytest.mark.parametrize(
    "runs, signature, repeat, verdict",
    [
        ([PASS], CASE, 1, "good"),
        ([PASS, PASS, PASS], CASE, 3, "good"),
        ([FAIL], CASE, 1, "bad"),
        ([FAIL, FAIL, FAIL], CASE, 3, "bad"),
        # an intermittent regression: one matching failure in three runs is enough
        ([PASS, FAIL, PASS], CASE, 3, "bad"),
        # the test passed; another bug's report is not this failure
        ([OTHER_CASE_FAILED], CASE, 1, "good"),
        # the program died before the case ran, without the signature's report: no evidence
        ([CRASH, CRASH, CRASH], CASE, 1, "skip"),
        ([INFRA, INFRA, INFRA], CASE, 1, "skip"),
        ([INFRA, PASS], CASE, 1, "good"),
        ([PASS, INFRA, PASS, INFRA, INFRA], CASE, 3, "skip"),
        ([INFRA, FAIL], CASE, 3, "bad"),
        # the case passed but the kernel reported the signature's problem
        (
            [RunResult("pass", problems=("kernel BUG in zap_pte_range",))],
            Signature(CASE.test, ("kernel BUG in zap_pte_range",)),
            1,
            "bad",
        ),
        # a crash that shows the signature's report is the failure
        ([CRASH], Signature(CASE.test, ("kernel BUG in zap_pte_range",)), 1, "bad"),
        # a kernel-log case: only the signature's report matches ...
        (
            [RunResult("fail", problems=("BUG: Bad page state in free_pages",))],
            KERNEL_CASE,
            1,
            "bad",
        ),
        # ... another report, the program having run to its end, is a good kernel for this bug
        ([RunResult("fail", problems=("WARNING in shmem_fault",))], KERNEL_CASE, 1, "good"),
        # ... unless that report killed the program first
        (
            [RunResult("fail", problems=("WARNING in shmem_fault",), completed=False)],
            KERNEL_CASE,
            1,
            "skip",
        ),
        # a kernel-log case without known titles: any report matches
        (
            [RunResult("fail", problems=("WARNING in shmem_fault",))],
            Signature("fault/fault/kernel"),
            1,
            "bad",
        ),
        # the case skipped itself (no ext4 here): no evidence
        ([RunResult("skip", message="not an ext4 mount")], CASE, 1, "skip"),
        # pressure not reached: the pass proves nothing, a failure still does
        ([RunResult("pass", infra="pressure not reached: pswpout")], CASE, 1, "skip"),
        ([RunResult("fail", infra="pressure not reached: pswpout")], CASE, 1, "bad"),
    ],
)
def test_verdict_table(runs, signature, repeat, verdict):
    assert step_verdict(runs, signature, repeat).verdict == verdict


def test_a_kernel_that_does_not_build_is_skipped_never_bad():
    error = BuildFailure(
        "BuildError: x86_64 kernel build failed",
        "../src/mm/mremap.c:966:9: error: expected ';' before 'if'\nmake[3]: *** Error 1",
        "/c/trees/x/build.log",
    )
    verdict = step_verdict([], CASE, 1, build=error)
    assert verdict.verdict == "skip"
    assert verdict.reason == (
        "does not build: mm/mremap.c:966:9: error: expected ';' before "
        "'if' (x86_64 kernel build failed; log: /c/trees/x/build.log)"
    )


def test_reasons_say_what_was_seen():
    assert step_verdict([PASS, FAIL, PASS], CASE, 3).reason == (
        "1 of 3 runs failed like the original: does not show file page 3"
    )
    assert step_verdict([PASS, PASS], CASE, 2).reason == "2 of 2 runs passed"
    skip = step_verdict([INFRA, CRASH, PASS], CASE, 3).reason
    assert skip.startswith("only 1 of 3 runs passed, 3 needed: ")
    assert "boot: x86_64 guest did not reach its agent" in skip
    assert "the program did not finish (kernel BUG in zap_pte_range)" in skip


def test_evidence_of_single_runs():
    assert evidence(FAIL, CASE) == "match"
    assert evidence(PASS, CASE) == "pass"
    assert evidence(INFRA, CASE) == "none"
    assert KERNEL_CASE.kernel_case and Signature("boot/boot").kernel_case
    assert not CASE.kernel_case


def test_runs_stop_at_the_first_matching_failure_or_at_repeat_passes():
    assert needs_more([], CASE, 3)
    assert not needs_more([FAIL], CASE, 3)
    assert needs_more([PASS, PASS], CASE, 3)
    assert not needs_more([PASS, PASS, PASS], CASE, 3)
    assert needs_more([INFRA, PASS, PASS], CASE, 3)


def test_runs_give_up_after_the_extra_runs():
    runs = [INFRA] * (3 + EXTRA_RUNS)
    assert needs_more(runs[:-1], CASE, 3)
    assert not needs_more(runs, CASE, 3)


def test_confirmation_runs_until_repeat_runs_gave_evidence():
    assert needs_more([FAIL], CASE, 3, until_repeat=True)
    assert needs_more([FAIL, INFRA, PASS], CASE, 3, until_repeat=True)
    assert not needs_more([FAIL, INFRA, PASS, FAIL], CASE, 3, until_repeat=True)


def outcomes(*runs: str) -> list[Outcome]:
    """One outcome per argument; each letter an attempt ('p', 'f', 's', 'i')."""
    states = {"p": "pass", "f": "fail", "s": "skip", "i": "infra"}
    return [
        Outcome(f"r{n}", tuple(states[c] for c in attempts), KernelIdentity("debian-6.1"))
        for n, attempts in enumerate(runs)
    ]


@pytest.mark.parametrize(
    "history, repeat",
    [
        ([], 1),
        (["p"] * 10, 1),
        (["p"] * 6 + ["f"], 1),  # a regression, not flakiness
        (["p", "f", "p", "f"], 4),  # failed half the time: 4 runs miss it 6% of the time
        (["p", "f", "f", "p", "f", "f"], 3),  # failed 2/3 of the time
        (["p", "p", "pf", "p", "p", "p"], 5),  # rarely fails: as many runs as allowed
        (["p", "i", "f", "s", "p", "f"], 4),  # skip and infra are no evidence
    ],
)
def test_default_repeat_follows_flakiness(history, repeat):
    assert default_repeat(outcomes(*history))[0] == repeat


def recorded_run(root: Path, day: int, state: str) -> Path:
    """A copy of a real ppc64 run on day `day` in which smoke/remap_file_pages has `state`."""
    run_dir = root / f"202611{day:02d}-105125"
    shutil.copytree(RECORDED_RUN, run_dir)
    results = json.loads((run_dir / "results.json").read_text())
    for record in results["records"]:
        if record["case"] == "smoke/remap_file_pages":
            record["state"] = state
    (run_dir / "results.json").write_text(json.dumps(results))
    return run_dir


@pytest.mark.parametrize(
    "states, repeat",
    [
        ("pppppp", 1),
        ("pfpfpp", 5),
        ("pffpff", 3),
    ],
)
def test_repeat_from_a_real_history(tmp_path, monkeypatch, states, repeat):
    monkeypatch.setenv("FAULTLAB_CACHE", str(tmp_path / "cache"))
    history = tmp_path / "history.sqlite"
    with HistoryStore(history) as db:
        for day, state in enumerate(states, 10):
            ingest_run_dir(
                db, recorded_run(tmp_path / "results", day, {"p": "pass", "f": "fail"}[state])
            )
    test = "smoke/smoke/remap_file_pages"
    got, why = repeat_from_history(history, test, get_variant("ppc64"), "none")
    assert got == repeat
    assert "unknown/ppc64/none" in why
    assert repeat_from_history(history, test, get_variant("x86_64"), "none")[0] == 1
    assert repeat_from_history(history, test, get_variant("ppc64"), "heavy")[0] == 1


def test_no_history_file_means_one_run_and_none_is_created(tmp_path):
    history = tmp_path / "absent.sqlite"
    assert repeat_from_history(
        history, "smoke/smoke/remap_file_pages", get_variant("x86_64"), "none"
    ) == (1, "no history")
    assert not history.exists()
