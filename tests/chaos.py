"""Interrupting `lab` commands at random moments, and the invariants that must hold after
each interruption: no QEMU of the command left, its scratch folders gone after the next
command, every results.json valid and holding every program that finished, the history
consistent. Seeded: a failure names its seed, and the same seed interrupts at the same
moments."""

import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGKILL)
# A program's verdict line on stderr (lab/run/lab_run.py: verdict_line): the program finished
# and its records were saved before the line was printed.
VERDICT = re.compile(r"^==> (\S+): (\S+)/(\S+): (?:pass|FAIL|infra)", re.M)
SETTLE_S = 15.0  # for QEMU to go with the process that started it


@dataclass
class Interruption:
    """One command interrupted: when, how, and how it ended."""

    name: str  # 'run', 'nightly', 'bisect'
    argv: list[str]
    signum: int
    after_s: float
    pid: int = 0
    returncode: int | None = None
    stderr: str = ""
    finished_on_its_own: bool = False

    def describe(self) -> str:
        how = (
            "finished before the signal"
            if self.finished_on_its_own
            else (f"{signal.Signals(self.signum).name} after {self.after_s:.1f}s")
        )
        return f"{self.name} (pid {self.pid}): {how}, exit {self.returncode}"


@dataclass
class Chaos:
    """A seeded series of interruptions, and what they left."""

    seed: int
    workdir: Path
    env: dict[str, str] = field(default_factory=dict)
    done: list[Interruption] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.random = random.Random(self.seed)
        self.deck: list[int] = []

    def next_signal(self) -> int:
        """The signals in turns of a shuffled deck: each is sent as often as the others."""
        if not self.deck:
            self.deck = list(SIGNALS)
            self.random.shuffle(self.deck)
        return self.deck.pop()

    @property
    def interrupted(self) -> list[Interruption]:
        return [d for d in self.done if not d.finished_on_its_own]

    def lab(self, *args: str, timeout_s: float = 1800) -> subprocess.CompletedProcess:
        """A `lab` command run to its end."""
        return subprocess.run(
            [sys.executable, "-m", "lab", *args],
            cwd=self.workdir,
            env=self.environment(),
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=timeout_s,
        )

    def environment(self) -> dict[str, str]:
        return {
            **os.environ,
            **self.env,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        }

    def interrupt(self, name: str, args: list[str], within_s: float) -> Interruption:
        """Start `lab ARGS`, and at a random moment within `within_s` send it the next
        signal (SIGINT to its process group, as a terminal's Ctrl-C does; SIGTERM and
        SIGKILL to the process), then wait for it to end."""
        signum = self.next_signal()
        after = self.random.uniform(0.3, within_s)
        done = Interruption(name, args, signum, after)
        with tempfile.TemporaryFile("w+") as err:
            process = subprocess.Popen(
                [sys.executable, "-m", "lab", *args],
                cwd=self.workdir,
                env=self.environment(),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
                start_new_session=True,
            )
            done.pid = process.pid
            try:
                process.wait(timeout=after)
                done.finished_on_its_own = True
            except subprocess.TimeoutExpired:
                if signum == signal.SIGINT:
                    os.killpg(process.pid, signum)
                else:
                    process.send_signal(signum)
                process.wait(timeout=600)
            done.returncode = process.returncode
            err.seek(0)
            done.stderr = err.read()
        self.done.append(done)
        return done


def qemu_of(pid: int) -> list[str]:
    """Live QEMU processes started by lab process `pid` (their sockets are in its scratch
    folders, which carry its pid)."""
    found = subprocess.run(
        ["pgrep", "-af", f"qemu-system.*faultlab-[a-z]+-{pid}-"], capture_output=True, text=True
    ).stdout
    return found.splitlines()


def no_qemu_left(pid: int) -> None:
    deadline = time.monotonic() + SETTLE_S
    while qemu_of(pid):
        assert time.monotonic() < deadline, f"QEMU of lab process {pid} left: {qemu_of(pid)}"
        time.sleep(0.2)


def scratch_of(pid: int) -> list[Path]:
    return list(Path(tempfile.gettempdir()).glob(f"faultlab-*-{pid}-*"))


def results_hold_finished_programs(run_dir: Path, stderr: str) -> None:
    """results.json is valid JSON holding every program whose verdict was printed, and at
    most the one program in flight has output on disk without records."""
    results = run_dir / "results.json"
    if not results.exists():  # interrupted before anything was written: nothing finished
        assert not VERDICT.search(stderr), f"{run_dir}: verdicts printed but no results.json"
        return
    data = json.loads(results.read_text())
    recorded = {(r["arch"], r["suite"], r["case"].partition("/")[0]) for r in data["records"]}
    for arch, suite, program in VERDICT.findall(stderr):
        assert (arch, suite, program) in recorded, (
            f"{run_dir}: {suite}/{program} finished on {arch} but is not in results.json"
        )
    written = {(p.parent.name, p.stem) for p in run_dir.glob("*/*.ktap")}
    unrecorded = {w for w in written if not any(r[0] == w[0] and r[2] == w[1] for r in recorded)}
    assert len(unrecorded) <= 1, f"{run_dir}: programs ran but are not recorded: {unrecorded}"
    if not data["complete"]:
        assert json.loads((run_dir / "run.json").read_text())["complete"] is False


def history_consistent(history: Path) -> None:
    """The history opens, passes SQLite's integrity check, and each run holds exactly the
    records of its results directory (runs whose directory is gone aside)."""
    if not history.exists():
        return
    db = sqlite3.connect(history)
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        runs = db.execute("SELECT run_id, results_dir, complete, kind FROM runs").fetchall()
        for run_id, results_dir, complete, kind in runs:
            rows = db.execute(
                "SELECT count(*) FROM results WHERE run_id = ?", (run_id,)
            ).fetchone()[0]
            results = Path(results_dir) / "results.json"
            if kind == "run" and results.exists():
                records = json.loads(results.read_text())["records"]
                assert rows == len(records), (
                    f"history run {run_id}: {rows} rows, {len(records)} records in {results}"
                )
                summary = json.loads((Path(results_dir) / "run.json").read_text())
                assert bool(complete) == summary["complete"], run_id
    finally:
        db.close()
