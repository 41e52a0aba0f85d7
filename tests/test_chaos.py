"""Chaos for the lab itself: `lab run`, `lab nightly` (local runtime) and `lab bisect` are
interrupted at random moments (seeded) with SIGINT, SIGTERM and SIGKILL, and after every
interruption the invariants hold (tests/chaos.py): no QEMU left, no scratch folder left
after the next command, every results.json valid and holding every finished program, the
history consistent; and an interrupted bisect, resumed, names the same culprit.

Per arch: RUNS interrupted runs, NIGHTS interrupted nights, and on the first --lab-arch
BISECTS interrupted bisects: 2 x (10 + 3) + 4 = 30 interruptions with `--lab-arch x86_64,ppc64`.
"""

import re
import time
from collections.abc import Iterator

import pytest

from lab.bisect.demo import DEMO_CULPRIT, DEMO_SERIES, DEMO_TEST
from lab.bisect.state import load_state
from tests.chaos import (
    Chaos,
    history_consistent,
    no_qemu_left,
    results_hold_finished_programs,
    scratch_of,
)
from tests.labcli import skip_unless_first_arch

pytestmark = pytest.mark.integration
RUNS, NIGHTS, BISECTS = 10, 3, 4
RUN_SUITES = "smoke,nonlinear,nopfn"  # four programs: several finish before a late signal
BISECT_WITHIN_S = 45.0  # a bisect of the demo series with its kernels cached takes ~1 min
RESUMES = re.compile(r"lab bisect --resume (\S+)` resumes it")


@pytest.fixture
def chaos(tmp_path, knobs, arch) -> Chaos:
    history = tmp_path / "history.sqlite"
    return Chaos(knobs.seed + len(arch.name), tmp_path, {"FAULTLAB_HISTORY": str(history)})


def attempts(chaos: Chaos, wanted: int) -> Iterator[int]:
    """Numbers of attempts until `wanted` commands were interrupted (a command can end
    before its signal comes: then it counts for nothing), at most twice as many."""
    for n in range(2 * wanted):
        if len(chaos.interrupted) >= wanted:
            return
        yield n


def after_next_command(chaos: Chaos, pid: int) -> None:
    """The next lab command removes what a killed process left in the scratch folders."""
    chaos.lab("history", "--test", "smoke/smoke/remap_file_pages", "--last", "1")
    assert not scratch_of(pid), f"scratch folders of {pid} left: {scratch_of(pid)}"


def test_interrupted_runs_keep_what_finished(chaos, kernel, arch):
    def run(n: int) -> list[str]:
        results = chaos.workdir / "runs" / str(n)
        return [
            "run",
            "--arch",
            arch.name,
            "--kernel",
            kernel.id,
            "--suite",
            RUN_SUITES,
            "--seed",
            str(chaos.seed + n),
            "--results",
            str(results),
        ]

    start = time.monotonic()
    reference = chaos.lab(*run(RUNS))  # how long a whole run takes: the signals come before
    whole_s = time.monotonic() - start
    assert reference.returncode == 0, reference.stderr[-3000:]
    for n in attempts(chaos, RUNS):
        results = chaos.workdir / "runs" / str(n)
        done = chaos.interrupt("run", run(n), 0.9 * whole_s)
        why = f"seed {chaos.seed}: {done.describe()}\n{done.stderr[-3000:]}"
        assert done.returncode is not None and "Traceback" not in done.stderr, why
        no_qemu_left(done.pid)
        for run_dir in results.glob("*"):
            results_hold_finished_programs(run_dir, done.stderr)
        after_next_command(chaos, done.pid)
        history_consistent(chaos.workdir / "history.sqlite")
    print(
        f"\n{arch.name}: a whole run {whole_s:.0f}s; " + "; ".join(d.describe() for d in chaos.done)
    )
    assert len(chaos.interrupted) == RUNS


def test_interrupted_nights_leave_the_history_whole(chaos, kernel, arch):
    matrix = chaos.workdir / "chaos.toml"
    matrix.write_text(
        f'name = "chaos"\n[[kernels]]\nsource = "debian-6.1"\narches = '
        f'["{arch.name}"]\nsuites = ["smoke", "nonlinear"]\n'
    )
    night = [
        "nightly",
        "--matrix",
        str(matrix),
        "--results",
        str(chaos.workdir / "nights"),
        "--retries",
        "0",
        "--reruns",
        "0",
        "--seed",
        str(chaos.seed),
    ]
    start = time.monotonic()
    reference = chaos.lab(*night)
    whole_s = time.monotonic() - start
    assert reference.returncode == 0, reference.stderr[-3000:]
    for _ in attempts(chaos, NIGHTS):
        done = chaos.interrupt("nightly", night, 0.9 * whole_s)
        why = f"seed {chaos.seed}: {done.describe()}\n{done.stderr[-3000:]}"
        assert "Traceback" not in done.stderr, why
        no_qemu_left(done.pid)
        after_next_command(chaos, done.pid)
        history_consistent(chaos.workdir / "history.sqlite")
    final = chaos.lab(*night)  # the nightly lock was released, the night runs through
    assert final.returncode == 0, final.stderr[-3000:]
    history_consistent(chaos.workdir / "history.sqlite")
    print(
        f"\n{arch.name}: a whole night {whole_s:.0f}s; "
        + "; ".join(d.describe() for d in chaos.done)
    )
    assert len(chaos.interrupted) == NIGHTS


def test_an_interrupted_bisect_resumes_to_the_same_culprit(chaos, arch, pytestconfig):
    skip_unless_first_arch(arch, pytestconfig, "bisects are interrupted")
    start = [
        "bisect",
        "--source",
        "debian-6.1",
        "--series",
        str(DEMO_SERIES),
        "--test",
        DEMO_TEST,
        "--arch",
        arch.name,
        "--repeat",
        "1",
        "--seed",
        str(chaos.seed),
    ]
    bisect_id = ""  # the bisect to resume next; "" starts a new one
    ended: list[str] = []  # bisects that reached their end
    for _ in attempts(chaos, BISECTS):
        args = ["bisect", "--resume", bisect_id] if bisect_id else start
        done = chaos.interrupt("bisect", args, BISECT_WITHIN_S)
        assert "Traceback" not in done.stderr, done.stderr[-3000:]
        no_qemu_left(done.pid)
        after_next_command(chaos, done.pid)
        match = RESUMES.search(done.stderr)
        if done.finished_on_its_own:  # nothing left to interrupt in it: start another
            assert match, done.stderr[-3000:]
            ended.append(match[1])
            bisect_id = ""
        elif match:
            bisect_id = match[1]
    assert len(chaos.interrupted) == BISECTS
    final = chaos.lab(*(["bisect", "--resume", bisect_id] if bisect_id else start))
    assert final.returncode == 0, final.stderr[-3000:]
    ended.append(bisect_id or RESUMES.search(final.stderr)[1])
    for ended_id in ended:
        state = load_state(ended_id)
        assert (state.result.kind, state.result.culprit) == ("confirmed", str(DEMO_CULPRIT))
    print(f"\n{arch.name}: " + "; ".join(d.describe() for d in chaos.done))
