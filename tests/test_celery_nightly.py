"""The worker pool (a private RabbitMQ node, two `lab worker`s on this machine) running the
lab's jobs: a small nightly matrix gives the results of a local night, also when a worker is
killed in the middle of a cell (the other runs it, once), and a bisect candidate's runs go
to the workers at once. Nothing is left running."""

import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from lab.arch.variants import get_variant
from lab.bisect.jobs import RuntimeBench
from lab.bisect.steps import Built, LabBench
from lab.bisect.target import resolve_target
from lab.history.store import HistoryStore
from lab.nightly.command import NightlyJob, nightly
from lab.nightly.driver import NightlyOptions
from lab.nightly.upkeep import nights
from lab.runtime.celery_app import make_app
from lab.runtime.local import LocalRuntime
from lab.runtime.pool import CeleryRuntime
from lab.runtime.store import DirectoryStore
from lab.suites.catalogue import all_suites
from tests.pool import HOST, running_pool

pytestmark = pytest.mark.integration
RECEIVED = re.compile(r"lab\.job\[([0-9a-f-]+)\]: running lab\.nightly\.jobs:AttemptJob")
BISECT_RUN = re.compile(r"lab\.job\[([0-9a-f-]+)\]: running lab\.bisect\.jobs:BisectRunJob")


def matrix(path: Path, arch: str) -> Path:
    path.write_text(
        f'name = "pool"\n[[kernels]]\nsource = "debian-6.1"\narches = ["{arch}"]\n'
        'suites = ["smoke", "nonlinear"]\npressure = ["none", "inject"]\n'
    )
    return path


def received(log: Path) -> list[str]:
    """The attempt jobs a worker took, in order."""
    return RECEIVED.findall(log.read_text()) if log.exists() else []


def states(history: Path, night: str) -> dict[tuple[str, str], str]:
    with HistoryStore(history) as db:
        record = db.run(night)
    return {(row.cell, f"{row.suite}/{row.case}"): row.state for row in record.results}


def attempts(night_dir: Path) -> dict[str, list[str]]:
    return {
        cell.name: sorted(p.name for p in cell.iterdir() if p.is_dir())
        for cell in night_dir.iterdir()
        if cell.is_dir()
    }


def qemu_processes() -> list[str]:
    out = subprocess.run(["pgrep", "-a", "qemu-system"], capture_output=True, text=True).stdout
    return out.splitlines()


def test_a_night_on_the_pool_survives_a_killed_worker_and_matches_a_local_night(
    kernel, arch, knobs, tmp_path
):
    matrix_file = matrix(tmp_path / "pool.toml", arch.name)
    history = tmp_path / "history.sqlite"
    local_root, pool_root = tmp_path / "local", tmp_path / "pool"
    start = time.monotonic()
    options = NightlyOptions(results_root=local_root, seed=knobs.seed, reruns=0, retries=0)
    assert nightly(NightlyJob(matrix_file, options, LocalRuntime(), history)) == 0
    local_s = time.monotonic() - start

    store = tmp_path / "store"
    queues = f"build,qemu-{arch.name}"
    workers = [(f"a@{HOST}", queues), (f"b@{HOST}", queues)]
    with running_pool(tmp_path / "workers", workers, {"FAULTLAB_STORE": str(store)}) as pool:
        runtime = CeleryRuntime(make_app(pool.broker.url), DirectoryStore(store), 1800)
        options = NightlyOptions(results_root=pool_root, seed=knobs.seed, reruns=0, retries=0)
        outcome: list[int] = []
        start = time.monotonic()
        night = threading.Thread(
            target=lambda: outcome.append(
                nightly(NightlyJob(matrix_file, options, runtime, history))
            )
        )
        night.start()
        logs = {w.name: w.log for w in pool.workers.values()}
        deadline = time.monotonic() + 600
        while not all(received(log) for log in logs.values()):
            assert time.monotonic() < deadline and night.is_alive(), "both workers never ran"
            time.sleep(0.2)
        time.sleep(3)  # into the cell: its guest is booting or running
        victim = pool.workers[f"a@{HOST}"]
        (taken,) = received(victim.log)
        os.killpg(victim.process.pid, signal.SIGKILL)
        victim.process.wait()
        night.join(timeout=900)
        pool_s = time.monotonic() - start
        assert not night.is_alive()
        survivor = received(pool.workers[f"b@{HOST}"].log)
    print(f"\nlocal night {local_s:.0f}s, pool night {pool_s:.0f}s (one worker killed)")

    assert outcome == [0]
    assert taken in survivor  # the killed worker's cell ran on the other worker
    assert len(survivor) == len(set(survivor)) == 2  # its own cell, then that one
    (local_night,) = nights(local_root)
    (pool_night,) = nights(pool_root)
    assert (
        attempts(pool_night)
        == attempts(local_night)
        == {f"debian-6.1_{arch.name}_none": ["try1"], f"debian-6.1_{arch.name}_inject": ["try1"]}
    )
    pool_states = states(history, pool_night.name)
    assert pool_states == states(history, local_night.name)
    assert set(pool_states.values()) <= {"pass", "skip"}
    assert (pool_night / "report.html").exists()
    assert qemu_processes() == []


def test_a_bisect_candidate_s_runs_go_to_the_workers_at_once(kernel, arch, tmp_path):
    store = tmp_path / "store"
    queues = f"qemu-{arch.name}"
    workers = [(f"a@{HOST}", queues), (f"b@{HOST}", queues)]
    with running_pool(tmp_path / "workers", workers, {"FAULTLAB_STORE": str(store)}) as pool:
        runtime = CeleryRuntime(make_app(pool.broker.url), DirectoryStore(store), 900)
        local = LabBench(
            get_variant(arch.name),
            resolve_target("smoke/smoke/remap_file_pages", all_suites()),
            seed=7,
        )
        bench = RuntimeBench(local, runtime)
        built = Built(kernel.id, str(kernel.dir), "", 0.0)
        DirectoryStore(store).put_build(kernel.dir)
        start = time.monotonic()
        runs = bench.run_many(built, [0, 1, 2], tmp_path / "step")
        print(f"\n3 runs on 2 workers in {time.monotonic() - start:.1f}s")
        taken = {name: received_bisect(w.log) for name, w in pool.workers.items()}
    assert [r.state for r in runs] == ["pass"] * 3
    assert all(taken.values())  # both workers ran some
    for index, run in enumerate(runs):
        run_dir = tmp_path / "step" / f"run{index + 1}"
        assert run.run_dir == str(run_dir)
        assert Path(run.output).is_relative_to(run_dir) and Path(run.output).exists()
        assert Path(run.kernel_log).is_relative_to(run_dir) and Path(run.kernel_log).exists()
    assert qemu_processes() == []


def received_bisect(log: Path) -> list[str]:
    return BISECT_RUN.findall(log.read_text())
