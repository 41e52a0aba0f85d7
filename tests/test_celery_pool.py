"""The worker pool on this machine: a private RabbitMQ node and two `lab worker` processes.

A job whose worker is killed in the middle completes on the other worker, once; nothing is
left running afterwards. No QEMU, no kernels: the jobs are lab.ping and a test task that
sleeps (tests/celery_tasks.py).
"""

import os
import signal
import time
from collections import Counter
from pathlib import Path

import pytest
from kombu import Connection

from lab.errors import InfraError
from lab.runtime.broker import LocalBroker
from lab.runtime.reaper import group_alive
from tests.pool import HOST, running_pool

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def pool(tmp_path_factory):
    """Two workers, A serving build and B serving build and qemu-x86_64."""
    with running_pool(
        tmp_path_factory.mktemp("pool"),
        [(f"a@{HOST}", "build"), (f"b@{HOST}", "build,qemu-x86_64")],
    ) as pool:
        yield pool


def test_broker_that_cannot_start_names_its_logs(tmp_path):
    broker = LocalBroker(tmp_path / "broker", consumer_timeout_s=-1)  # refused by RabbitMQ
    with pytest.raises(
        InfraError,
        match=r"exited \(status \d+\) while starting; see .*"
        r"server\.out:\n.*failed_to_prepare_configuration",
    ) as error:
        broker.start()
    assert str(broker.log) in str(error.value)
    assert broker.processes() == []


LOOPBACK = {"0100007F", "00000000000000000000000001000000"}  # 127.0.0.1, ::1 in /proc/net


def listeners(port: int) -> set[str]:
    """The local addresses (as /proc/net/tcp* writes them) listening on a TCP port."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for row in Path(table).read_text().splitlines()[1:]:
            local, state = row.split()[1], row.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:
                found.add(address)
    return found


def test_broker_listens_on_loopback_only(pool):
    broker = pool.broker
    for port in (broker.amqp_port, broker.dist_port, broker.epmd_port):
        assert listeners(port) and listeners(port) <= LOOPBACK, port


def test_ping_comes_back_from_a_worker_serving_the_queue(pool):
    start = time.monotonic()
    answer = pool.app.send_task("lab.ping", queue="qemu-x86_64").get(timeout=30)
    print(f"lab.ping round trip {1000 * (time.monotonic() - start):.0f} ms")
    assert answer["node"] == f"b@{HOST}"  # the only worker of qemu-x86_64
    assert answer["host"] == HOST
    assert answer["queues"] == ["build", "qemu-x86_64"]
    assert answer["version"]
    assert answer["arches"]["x86_64"]["qemu"].endswith("qemu-system-x86_64")
    assert answer["arches"]["ppc64"]["compiler"].endswith("powerpc64-linux-gnu-gcc")


def lines(path: Path, kind: str) -> list[list[str]]:
    """The 'started'/'done' lines of the test task: [token, pgid, node, time]."""
    text = path.read_text() if path.exists() else ""
    return [line.split()[1:] for line in text.splitlines() if line.startswith(kind + " ")]


def wait_for(condition, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_job_of_a_killed_worker_completes_once_on_the_other(pool, tmp_path):
    out = tmp_path / "tasks.txt"
    tokens = [f"t{i}" for i in range(4)]
    results = [
        pool.app.send_task("tests.sleep_then_write", args=[str(out), 2.0, token], queue="build")
        for token in tokens
    ]
    wait_for(
        lambda: len({node for _, _, node, _ in lines(out, "started")}) == 2,
        30,
        "both workers to start a task",
    )
    victim_token, pgid, victim_node, _ = lines(out, "started")[0]
    victim = pool.worker_of(int(pgid))
    (survivor,) = (w for w in pool.workers.values() if w is not victim)
    killed_at = time.time()
    os.killpg(victim.process.pid, signal.SIGKILL)  # the worker and its pool process
    victim.process.wait()

    answers = [r.get(timeout=30) for r in results]
    time.sleep(1.0)  # time for a duplicate to show up, were there one

    assert sorted(a["token"] for a in answers) == tokens
    redone = next(a for a in answers if a["token"] == victim_token)
    assert redone["node"] == survivor.name and redone["redelivered"]
    done = lines(out, "done")
    assert Counter(token for token, *_ in done) == Counter(tokens)  # each exactly once
    assert not [d for d in done if d[2] == victim.name and float(d[3]) > killed_at]
    starts = [s for s in lines(out, "started") if s[0] == victim_token]
    assert [s[2] for s in starts] == [victim_node, survivor.name]
    with Connection(pool.broker.url) as conn:
        left = conn.default_channel.queue_declare("build", passive=True).message_count
    assert left == 0
    print(
        f"redelivered job started on {survivor.name} {float(starts[1][3]) - killed_at:.2f}s "
        "after the SIGKILL"
    )

    pool.stop()
    assert not group_alive(victim.process.pid)
    assert pool.leftovers() == []
