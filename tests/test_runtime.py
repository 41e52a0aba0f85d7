"""The worker pool's parts that need no broker: queues, the app's settings, `lab worker`'s
refusals, the broker's config and finding processes by their environment."""

import os
import subprocess
import time
from pathlib import Path

import pytest

from lab.errors import UsageError
from lab.runtime.broker import CONSUMER_TIMEOUT_S, broker_config
from lab.runtime.celery_app import DEFAULT_BROKER, TimeLimits, broker_from_env, make_app
from lab.runtime.queues import QUEUES, parse_queues, qemu_queue, queue_tools
from lab.runtime.reaper import end_marked, group_alive, marked_processes, stop_group
from tests.labcli import LAB

ROOT = Path(__file__).resolve().parent.parent


def test_queues_are_build_and_one_per_qemu_arch():
    assert QUEUES == ("build", "qemu-x86_64", "qemu-ppc64")
    assert qemu_queue("ppc64") == "qemu-ppc64"
    assert queue_tools("qemu-ppc64") == ("qemu-system-ppc64", "powerpc64-linux-gnu-gcc")
    assert {"make", "x86_64-linux-gnu-gcc", "powerpc64-linux-gnu-gcc"} <= set(queue_tools("build"))


def test_parse_queues_keeps_order_and_refuses_unknown_names():
    assert parse_queues("build, qemu-ppc64,build") == ("build", "qemu-ppc64")
    with pytest.raises(UsageError, match="unknown queue 'qemu-sparc'; queues: build, "):
        parse_queues("build,qemu-sparc")
    with pytest.raises(UsageError, match="no queue given"):
        parse_queues(" , ")


def test_app_settings_for_long_jobs_and_lost_workers():
    app = make_app("amqp://guest:guest@127.0.0.1:1//", TimeLimits(soft_s=60, hard_s=90))
    conf = app.conf
    assert conf.task_acks_late and conf.task_reject_on_worker_lost
    assert conf.worker_prefetch_multiplier == 1
    assert (conf.task_soft_time_limit, conf.task_time_limit) == (60, 90)
    assert conf.task_default_queue == "build" and not conf.task_create_missing_queues
    assert conf.result_backend == "rpc://" and conf.task_track_started
    assert conf.accept_content == ["json"] and conf.task_serializer == "json"
    queues = {q.name: q for q in conf.task_queues}
    assert tuple(queues) == QUEUES
    for name, queue in queues.items():  # a job sent to one queue reaches no other
        assert queue.exchange.name == queue.routing_key == name
    app.loader.import_default_modules()
    assert "lab.ping" in app.tasks


def test_default_limits_stay_below_the_consumer_timeout():
    limits = TimeLimits()
    assert limits.soft_s < limits.hard_s < CONSUMER_TIMEOUT_S


def test_broker_url_from_the_environment(monkeypatch):
    monkeypatch.delenv("FAULTLAB_BROKER", raising=False)
    assert broker_from_env() == DEFAULT_BROKER == "amqp://guest:guest@127.0.0.1:5672//"
    monkeypatch.setenv("FAULTLAB_BROKER", "amqp://lab:pw@broker.lab//")
    assert broker_from_env() == "amqp://lab:pw@broker.lab//"


def test_extra_task_modules_are_included(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT))
    monkeypatch.setenv("FAULTLAB_EXTRA_TASKS", "tests.celery_tasks, ")
    app = make_app(DEFAULT_BROKER)
    app.loader.import_default_modules()
    assert {"lab.ping", "tests.sleep_then_write"} <= set(app.tasks)


def test_broker_config_sets_the_consumer_timeout_in_ms():
    assert "consumer_timeout = 14400000\n" in broker_config(4 * 3600)


def lab(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*LAB, *args], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL, env=env
    )


def test_worker_refuses_an_unknown_queue():
    result = lab("worker", "--queues", "build,gpu")
    assert result.returncode == 2
    assert "unknown queue 'gpu'; queues: build, qemu-x86_64, qemu-ppc64" in result.stderr


def test_worker_refuses_a_queue_whose_qemu_is_missing(tmp_path):
    env = dict(os.environ, PATH=str(tmp_path))  # no program at all
    result = lab("worker", "--queues", "qemu-ppc64", env=env)
    assert result.returncode == 2
    assert (
        "this host cannot serve queue qemu-ppc64: qemu-system-ppc64 not found; install "
        "the Debian package qemu-system-ppc"
    ) in result.stderr


def test_worker_refuses_no_concurrency():
    result = lab("worker", "--queues", "build", "--concurrency", "0")
    assert result.returncode == 2
    assert "--concurrency 0: at least 1" in result.stderr


def test_marked_processes_are_found_and_ended(tmp_path):
    marker = f"faultlab-test-{os.getpid()}-{time.monotonic_ns()}"
    sleeper = subprocess.Popen(
        ["sleep", "60"], env=dict(os.environ, LAB_MARK=marker), start_new_session=True
    )
    try:
        deadline = time.monotonic() + 10  # until the child has exec'd with its environment
        while not marked_processes("LAB_MARK", marker) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert marked_processes("LAB_MARK", marker) == [sleeper.pid]
        assert end_marked("LAB_MARK", marker, timeout_s=0.2) == [sleeper.pid]
        assert sleeper.wait(5) == -9
        assert marked_processes("LAB_MARK", marker) == []
    finally:
        if sleeper.poll() is None:
            sleeper.kill()
            sleeper.wait()


def test_stop_group_kills_a_group_that_ignores_sigterm():
    shell = subprocess.Popen(
        ["sh", "-c", "trap '' TERM; sleep 60 & echo ready; wait"],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert shell.stdout.readline() == "ready\n"
    shell.stdout.close()
    start = time.monotonic()
    stop_group(shell, timeout_s=0.5)
    assert time.monotonic() - start >= 0.5  # SIGTERM was ignored, SIGKILL ended it
    assert shell.returncode == -9
    assert not group_alive(shell.pid)  # the background sleep too
