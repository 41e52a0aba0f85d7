"""A private RabbitMQ node for tests and a one-machine pool: a child process on 127.0.0.1.

Debian's `rabbitmq-server` package is run directly (not as the system service), with its
own node name, data, logs, config and Erlang cookie (HOME) under one directory, free ports
for AMQP, Erlang distribution and its own epmd, and is stopped with everything it started.
"""

import os
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from kombu import Connection

from lab.errors import InfraError, UsageError
from lab.runtime.reaper import end_marked, marked_processes, stop_group
from lab.vm.ports import free_port

RABBITMQ_SERVER = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")  # Debian: rabbitmq-server
EPMD = Path("/usr/bin/epmd")  # Debian: erlang-base, a dependency of rabbitmq-server
# A task may run this long before RabbitMQ closes the channel of its unacknowledged message
# (acks_late): above the tasks' hard time limit (lab/runtime/celery_app.py).
CONSUMER_TIMEOUT_S = 4 * 3600


def broker_config(consumer_timeout_s: float) -> str:
    """rabbitmq.conf of a private node (ports and address come from its environment)."""
    return (
        f"consumer_timeout = {int(consumer_timeout_s * 1000)}\n"
        "log.file.level = info\n"
        "log.console = false\n"
    )


@dataclass
class LocalBroker:
    """A RabbitMQ node under `root`, started by `with` (or start()) and stopped with all its
    processes: `url` is its AMQP address."""

    root: Path
    consumer_timeout_s: float = CONSUMER_TIMEOUT_S
    start_timeout_s: float = 60.0
    stop_timeout_s: float = 20.0
    node: str = field(default_factory=lambda: f"faultlab-{uuid.uuid4().hex[:10]}@localhost")
    amqp_port: int = 0
    dist_port: int = 0
    epmd_port: int = 0
    start_s: float = 0.0  # how long the last start took
    _server: subprocess.Popen | None = field(default=None, repr=False)
    _epmd: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.amqp_port}//"

    @property
    def log_dir(self) -> Path:
        return self.root / "log"

    @property
    def log(self) -> Path:
        """The node's own log file."""
        return self.log_dir / f"{self.node}.log"

    def environment(self) -> dict[str, str]:
        """The node's environment: everything of its own under root, 127.0.0.1 only."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("RABBITMQ_")}
        return env | {
            "HOME": str(self.root),  # .erlang.cookie: private to this node
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.amqp_port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "ERL_EPMD_PORT": str(self.epmd_port),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "RABBITMQ_MNESIA_BASE": str(self.root / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.log_dir),
            "RABBITMQ_CONFIG_FILE": str(self.root / "rabbitmq.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(self.root / "advanced.config"),
            "RABBITMQ_CONF_ENV_FILE": str(self.root / "rabbitmq-env.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.root / "enabled_plugins"),
            # Erlang distribution on loopback only; the epmd is ours (started below)
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": (
                "-kernel inet_dist_use_interface {127,0,0,1} -start_epmd false"
            ),
        }

    def start(self) -> "LocalBroker":
        """Start epmd and the node; return once it accepts AMQP connections."""
        if not RABBITMQ_SERVER.exists():
            raise UsageError(
                f"{RABBITMQ_SERVER} not found; install the Debian package "
                "rabbitmq-server (or run `make deps`)"
            )
        self.root.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(exist_ok=True)
        (self.root / "rabbitmq.conf").write_text(broker_config(self.consumer_timeout_s))
        (self.root / "rabbitmq-env.conf").write_text("# the node's settings are in its env\n")
        (self.root / "enabled_plugins").write_text("[].\n")
        self.amqp_port, self.dist_port, self.epmd_port = free_port(), free_port(), free_port()
        start = time.monotonic()
        env = self.environment()
        try:
            self._epmd = subprocess.Popen(
                [str(EPMD), "-port", str(self.epmd_port), "-address", "127.0.0.1"],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            with open(self.log_dir / "server.out", "wb") as out:
                self._server = subprocess.Popen(
                    [str(RABBITMQ_SERVER)],
                    env=env,
                    cwd=self.root,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            self._wait_ready(start + self.start_timeout_s)
        except BaseException:
            self.stop()
            raise
        self.start_s = time.monotonic() - start
        return self

    def _wait_ready(self, deadline: float) -> None:
        """Until an AMQP round trip succeeds; an InfraError naming the logs when the node
        exits or the deadline passes first."""

        def check_alive(exc: Exception, interval: float) -> None:
            assert self._server is not None
            if self._server.poll() is not None:
                out = self.log_dir / "server.out"
                tail = "\n".join(out.read_text(errors="replace").strip().splitlines()[-3:])
                raise InfraError(
                    f"RabbitMQ node {self.node} exited (status "
                    f"{self._server.returncode}) while starting; see {self.log} "
                    f"and {out}:\n{tail}"
                )

        # A handshake alone is not enough: a node still booting accepts one and then resets
        # the connection, so wait for a full round trip (a queue declared on a channel).
        last: Exception | None = None
        while time.monotonic() < deadline:
            try:
                with Connection(self.url, connect_timeout=2) as conn:
                    conn.ensure_connection(
                        errback=check_alive,
                        interval_start=0.2,
                        interval_step=0.2,
                        interval_max=0.5,
                        timeout=max(0.1, deadline - time.monotonic()),
                    )
                    conn.default_channel.queue_declare(queue="", exclusive=True, auto_delete=True)
                    return
            except InfraError:
                raise
            except Exception as e:  # any refusal or reset of a node still booting
                last = e
                check_alive(e, 0.0)
                time.sleep(0.3)
        raise InfraError(
            f"RabbitMQ node {self.node} did not accept AMQP on "
            f"127.0.0.1:{self.amqp_port} within "
            f"{self.start_timeout_s:.0f}s ({last}); see {self.log}"
        )

    def processes(self) -> list[int]:
        """Every live process of the node, its epmd and their children."""
        return marked_processes("RABBITMQ_NODENAME", self.node)

    def stop(self) -> None:
        """SIGTERM to the node's process group, SIGKILL if it lingers; then its epmd and any
        child that left the group."""
        if self._server is not None:
            stop_group(self._server, self.stop_timeout_s)
            self._server = None
        if self._epmd is not None:
            stop_group(self._epmd, 5.0)
            self._epmd = None
        end_marked("RABBITMQ_NODENAME", self.node)

    def __enter__(self) -> "LocalBroker":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
