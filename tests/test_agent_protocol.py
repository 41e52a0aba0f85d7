"""The guest agent (images/agent/agent.c) speaks its wire protocol correctly.

The agent is compiled with gcc and served over a socketpair with `--fd`, or over two pipes
with `--stdio`, which skip its PID-1 duties; see images/agent/README.md for the protocol.
"""

import os
import select
import socket
import subprocess
import time
from pathlib import Path

import pytest

AGENT_SRC = Path(__file__).resolve().parents[1] / "images" / "agent" / "agent.c"
IO_TIMEOUT = 10.0


class AgentReader:
    """Host side of the agent protocol: sends requests and parses framed replies."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.buf = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def hello(self) -> None:
        self.send(b"HELLO\n")

    def run(self, req_id: int, argv: list, timeout_ms: int = 0) -> None:
        args = [a if isinstance(a, bytes) else a.encode() for a in argv]
        fields = [b"RUN", str(req_id).encode(), str(timeout_ms).encode()]
        self.send(b" ".join(fields + [a.hex().encode() for a in args]) + b"\n")

    def _fill(self, deadline: float) -> None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"no reply from the agent; have {self.buf!r}")
        self.sock.settimeout(remaining)
        data = self.sock.recv(65536)
        if not data:
            raise EOFError(f"agent closed the connection; have {self.buf!r}")
        self.buf += data

    def read_line(self, timeout: float = IO_TIMEOUT) -> bytes:
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            self._fill(deadline)
        line, self.buf = self.buf.split(b"\n", 1)
        return line

    def read_exact(self, n: int, timeout: float = IO_TIMEOUT) -> bytes:
        deadline = time.monotonic() + timeout
        while len(self.buf) < n:
            self._fill(deadline)
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def read_frame(self, timeout: float = IO_TIMEOUT) -> tuple:
        """One reply: ("READY", fields...), ("OUT", id, fd, data) or
        ("END", id, kind, value, elapsed_us)."""
        fields = self.read_line(timeout).decode().split(" ")
        tag = fields[0]
        if tag == "READY":
            return tuple(fields)
        if tag == "OUT":
            assert len(fields) == 4, fields
            length = int(fields[3])
            assert 0 < length <= 4096, fields
            return ("OUT", int(fields[1]), int(fields[2]), self.read_exact(length, timeout))
        if tag == "END":
            assert len(fields) == 5, fields
            return ("END", int(fields[1]), fields[2], int(fields[3]), int(fields[4]))
        raise AssertionError(f"unexpected frame {fields!r}")

    def collect(self, req_id: int, timeout: float = IO_TIMEOUT) -> dict:
        """Read frames up to the END of req_id, which must be the only id seen."""
        deadline = time.monotonic() + timeout
        out = {1: b"", 2: b""}
        while True:
            frame = self.read_frame(max(deadline - time.monotonic(), 0.001))
            assert frame[0] in ("OUT", "END") and frame[1] == req_id, frame
            if frame[0] == "OUT":
                out[frame[2]] += frame[3]
            else:
                _, _, kind, value, elapsed_us = frame
                return {
                    "stdout": out[1],
                    "stderr": out[2],
                    "kind": kind,
                    "value": value,
                    "elapsed_us": elapsed_us,
                }

    def call(self, req_id: int, argv: list, timeout_ms: int = 0) -> dict:
        self.run(req_id, argv, timeout_ms)
        return self.collect(req_id)


class PipeChannel:
    """The host's ends of an agent run with --stdio, with the socket calls AgentReader uses."""

    def __init__(self, proc: subprocess.Popen):
        self.proc = proc
        self.timeout: float | None = None

    def sendall(self, data: bytes) -> None:
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def settimeout(self, timeout: float) -> None:
        self.timeout = timeout

    def recv(self, size: int) -> bytes:
        ready, _, _ = select.select([self.proc.stdout], [], [], self.timeout)
        if not ready:
            raise TimeoutError
        return os.read(self.proc.stdout.fileno(), size)


def _alive(pid: int) -> bool:
    """pid exists and is not a zombie."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1][0] != "Z"
    except FileNotFoundError:
        return False


@pytest.fixture(scope="module")
def agent_bin(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("agent") / "agent"
    subprocess.run(
        ["gcc", "-static", "-O2", "-Wall", "-Wextra", "-Werror", "-o", str(out), str(AGENT_SRC)],
        check=True,
    )
    return out


@pytest.fixture
def agent(agent_bin):
    host, guest = socket.socketpair()
    proc = subprocess.Popen(
        [str(agent_bin), "--fd", str(guest.fileno())], pass_fds=[guest.fileno()]
    )
    guest.close()
    try:
        yield AgentReader(host)
    finally:
        host.close()  # the agent exits when the host closes its end
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            pytest.fail("agent did not exit after the host closed the connection")


def test_hello_answers_ready(agent):
    agent.hello()
    frame = agent.read_frame()
    assert frame[0] == "READY"
    assert len(frame) == 5, frame  # tag + 4 fields
    assert frame[1] == "faultlab-agent/1"
    assert frame[2] == os.uname().release
    assert frame[3] == os.uname().machine
    assert frame[4] == str(os.sysconf("SC_PAGESIZE"))


def test_echo_stdout_and_exit_status(agent):
    res = agent.call(1, ["/bin/echo", "hello"])
    assert res["stdout"] == b"hello\n"
    assert res["stderr"] == b""
    assert (res["kind"], res["value"]) == ("exit", 0)


def test_path_lookup_and_stderr(agent):
    res = agent.call(2, ["sh", "-c", "echo oops >&2"])
    assert res["stdout"] == b""
    assert res["stderr"] == b"oops\n"
    assert (res["kind"], res["value"]) == ("exit", 0)


def test_exit_status(agent):
    res = agent.call(3, ["sh", "-c", "exit 3"])
    assert (res["kind"], res["value"]) == ("exit", 3)


def test_killed_by_signal(agent):
    res = agent.call(4, ["sh", "-c", "kill -SEGV $$"])
    assert (res["kind"], res["value"]) == ("signal", 11)


def test_timeout(agent):
    start = time.monotonic()
    res = agent.call(5, ["sleep", "10"], timeout_ms=300)
    assert time.monotonic() - start < 2.0
    assert (res["kind"], res["value"]) == ("timeout", 9)
    assert 300_000 <= res["elapsed_us"] < 2_000_000


def test_timeout_kills_the_process_group(agent):
    res = agent.call(5, ["sh", "-c", "sleep 10 & echo $!; sleep 10"], timeout_ms=300)
    assert (res["kind"], res["value"]) == ("timeout", 9)
    pid = int(res["stdout"])
    deadline = time.monotonic() + 2
    while _alive(pid):
        assert time.monotonic() < deadline, "background sleep survived the timeout"
        time.sleep(0.02)


def test_missing_binary_is_error_enoent(agent):
    res = agent.call(6, ["/nonexistent/faultlab-no-such-binary", "x"])
    assert (res["kind"], res["value"]) == ("error", 2)
    assert b"No such file or directory" in res["stderr"]


@pytest.mark.parametrize(
    "arg",
    [
        b"two words",
        b"line one\nline two\n",
        b"\xff\xfe\x80 not utf-8 \xc3",
        b" ",
        b"",
        b"%s %d \\ '\"",
        bytes(range(1, 256)),
        b"long" * 25_000,
    ],
    ids=["space", "newline", "non-utf8", "blank", "empty", "metachars", "all-bytes", "100kB"],
)
def test_arguments_arrive_intact(agent, arg):
    res = agent.call(7, ["/bin/printf", "%s", arg])
    assert (res["kind"], res["value"]) == ("exit", 0), res["stderr"]
    assert res["stdout"] == arg


def test_empty_arguments_between_others(agent):
    res = agent.call(8, ["/bin/printf", "%s|", "a", "", "b", ""])
    assert res["stdout"] == b"a||b||"


def test_large_output_is_chunked(agent):
    res = agent.call(9, ["head", "-c", "1000000", "/dev/urandom"])
    assert (res["kind"], res["value"]) == ("exit", 0)
    assert len(res["stdout"]) == 1_000_000


def test_write_then_cat_roundtrip(agent, tmp_path):
    path = tmp_path / "file"
    data = b"line 1\nbytes \xff\x01 end"
    res = agent.call(10, ["@write", bytes(path), data])
    assert (res["kind"], res["value"]) == ("exit", 0), res["stderr"]
    assert path.read_bytes() == data
    res = agent.call(11, ["@cat", bytes(path)])
    assert (res["kind"], res["value"]) == ("exit", 0)
    assert res["stdout"] == data


def test_builtin_failures(agent, tmp_path):
    res = agent.call(12, ["@cat", bytes(tmp_path / "missing")])
    assert (res["kind"], res["value"]) == ("exit", 1)
    assert b"No such file or directory" in res["stderr"]
    res = agent.call(13, ["@write", "only-a-path"])
    assert (res["kind"], res["value"]) == ("error", 22)
    assert b"usage: @write PATH DATA" in res["stderr"]
    res = agent.call(14, ["@nosuchbuiltin"])
    assert (res["kind"], res["value"]) == ("error", 2)
    res = agent.call(15, ["@poweroff"])  # refused outside the guest
    assert (res["kind"], res["value"]) == ("exit", 1)


def test_back_to_back_runs_complete_in_order(agent):
    agent.run(20, ["sh", "-c", "sleep 0.3; echo first"])
    agent.run(21, ["/bin/echo", "second"])
    frames = []
    while len([f for f in frames if f[0] == "END"]) < 2:
        frames.append(agent.read_frame())
    assert frames == [
        ("OUT", 20, 1, b"first\n"),
        ("END", 20, "exit", 0, frames[1][4]),
        ("OUT", 21, 1, b"second\n"),
        ("END", 21, "exit", 0, frames[3][4]),
    ]


def test_malformed_requests_do_not_kill_the_agent(agent):
    agent.send(b"GARBAGE\n\nRUN\nRUN \xff\xfe 0 6563686f\nHELLO\x00x\n")
    agent.send(b"RUN 30 soon 6563686f\n")  # bad timeout
    agent.send(b"RUN 31 0 zz\n")  # not hex
    agent.send(b"RUN 32 0 616200\n")  # NUL byte in an argument
    agent.send(b"RUN 33 0\n")  # no command
    for req_id in (30, 31, 32, 33):
        res = agent.collect(req_id)
        assert (res["kind"], res["value"]) == ("error", 22), (req_id, res)
        assert res["stderr"].startswith(b"faultlab-agent: ")
    agent.hello()
    assert agent.read_frame()[0] == "READY"
    res = agent.call(34, ["/bin/echo", "still alive"])
    assert res["stdout"] == b"still alive\n"


def test_mount_creates_the_directory_and_reports_a_missing_source(agent, tmp_path):
    target = tmp_path / "mnt" / "ext4"
    res = agent.call(16, ["@mount", bytes(tmp_path / "no-such-disk"), bytes(target), "ext4"])
    assert (res["kind"], res["value"]) == ("exit", 1)
    assert b"No such file or directory" in res["stderr"]
    assert target.is_dir()  # created before the mount was tried


@pytest.fixture
def stdio_agent(agent_bin):
    """The agent with --stdio on two pipes; its stderr must stay free of protocol frames."""
    proc = subprocess.Popen(
        [str(agent_bin), "--stdio"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        yield AgentReader(PipeChannel(proc)), proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        for f in (proc.stdin, proc.stdout, proc.stderr):
            f.close()


def test_stdio_command_round_trip(stdio_agent):
    agent, proc = stdio_agent
    agent.hello()
    assert agent.read_frame()[:2] == ("READY", "faultlab-agent/1")
    res = agent.call(1, ["sh", "-c", "echo out; echo err >&2; exit 4"])
    assert (res["stdout"], res["stderr"]) == (b"out\n", b"err\n")
    assert (res["kind"], res["value"]) == ("exit", 4)
    res = agent.call(2, ["@poweroff"])  # refused: not the guest's init
    assert (res["kind"], res["value"]) == ("exit", 1)
    proc.stdin.close()
    assert proc.wait(timeout=5) == 0
    assert proc.stdout.read() == b""  # nothing after the last frame
    assert b"READY" not in proc.stderr.read()


def test_stdio_eof_kills_the_running_command(stdio_agent):
    agent, proc = stdio_agent
    agent.run(1, ["sh", "-c", "echo $$; exec sleep 600"])
    frame = agent.read_frame()
    assert frame[:3] == ("OUT", 1, 1), frame
    pid = int(frame[3])
    assert _alive(pid) and "sleep" in Path(f"/proc/{pid}/cmdline").read_text()
    start = time.monotonic()
    proc.stdin.close()  # the SSH connection dropped
    assert proc.wait(timeout=5) == 0
    while _alive(pid):
        assert time.monotonic() - start < 2, "sleep 600 survived the end of the agent's input"
        time.sleep(0.02)


def test_the_lab_client_waits_out_a_guest_that_reads_nothing_yet(agent_bin):
    """A slow boot (a debug kernel under TCG) leaves the host's HELLOs unread until the full
    socket would block the next one: AgentClient.hello() skips sending then, and takes the
    READY of the agent that finally reads them (answering every HELLO queued, as it does)."""
    from lab.transport.agent import AgentClient

    host, guest = socket.socketpair()
    host.setblocking(False)
    try:
        while True:
            host.send(b"HELLO\n")
    except BlockingIOError:
        pass
    client = AgentClient(host)
    start = time.monotonic()
    proc = None
    try:
        with pytest.raises(TimeoutError):
            client.hello(time.monotonic() + 1.0)  # no agent yet: only the deadline ends it
        proc = subprocess.Popen(
            [str(agent_bin), "--fd", str(guest.fileno())], pass_fds=[guest.fileno()]
        )
        guest.close()
        hello = client.hello(time.monotonic() + IO_TIMEOUT)
        assert hello.release == os.uname().release
        assert client.run(["echo", "up"], 10, time.monotonic() + IO_TIMEOUT).stdout == b"up\n"
    finally:
        host.close()
        if proc is not None:
            proc.wait(timeout=5)
    assert time.monotonic() - start < IO_TIMEOUT
