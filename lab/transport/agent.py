"""Host side of the guest agent's wire protocol (see images/agent/README.md)."""

import socket
import time
from collections.abc import Callable
from dataclasses import dataclass


class AgentGone(ConnectionError):
    """The agent channel closed or stopped answering."""


@dataclass(frozen=True)
class Hello:
    """The agent's READY line."""

    version: str
    release: str
    machine: str
    page_size: int


@dataclass(frozen=True)
class CommandResult:
    """How a guest command ended and what it printed."""

    argv: tuple[str, ...]
    kind: str  # exit, signal, timeout, error
    value: int
    stdout: bytes
    stderr: bytes
    elapsed_s: float

    @property
    def ok(self) -> bool:
        return self.kind == "exit" and self.value == 0

    def describe(self) -> str:
        """'exit 0', 'signal 11', 'timeout', 'error 2'."""
        return "timeout" if self.kind == "timeout" else f"{self.kind} {self.value}"


class AgentClient:
    """Frames requests and reads framed replies over a connected stream socket."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.buffer = b""
        self.next_id = 1
        self.watch: Callable[[], None] | None = None  # called at least twice a second

    def _fill(self, deadline: float) -> None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        if self.watch is not None:
            self.watch()  # may raise to give up waiting
        self.sock.settimeout(min(remaining, 0.5))
        try:
            data = self.sock.recv(65536)
        except TimeoutError:
            return
        except OSError as e:
            raise AgentGone(f"agent channel failed: {e}") from e
        if not data:
            raise AgentGone("agent channel closed")
        self.buffer += data

    def _line(self, deadline: float) -> bytes:
        while b"\n" not in self.buffer:
            self._fill(deadline)
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line

    def _exact(self, size: int, deadline: float) -> bytes:
        while len(self.buffer) < size:
            self._fill(deadline)
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    def _send(self, data: bytes) -> None:
        try:
            self.sock.sendall(data)
        except OSError as e:
            raise AgentGone(f"agent channel failed: {e}") from e

    def _offer(self, data: bytes) -> None:
        """Send a short request unless the channel is full: QEMU does not take what the host
        sends before the guest opens its port, and a slow boot (a debug kernel) would fill
        the socket with HELLOs. A request this short is sent whole or not at all."""
        self.sock.settimeout(0.0)
        try:
            self.sock.send(data)
        except BlockingIOError:
            pass
        except OSError as e:
            raise AgentGone(f"agent channel failed: {e}") from e

    def hello(self, deadline: float, alive=lambda: True) -> Hello:
        """Send HELLO every 200 ms until READY arrives (guest bytes sent before are lost)."""
        while True:
            if not alive():
                raise AgentGone("QEMU exited before the agent answered")
            self._offer(b"HELLO\n")
            try:
                line = self._line(min(deadline, time.monotonic() + 0.2))
            except TimeoutError:
                if time.monotonic() >= deadline:
                    raise
                continue
            if line.startswith(b"READY "):
                _, version, release, machine, page = line.decode(errors="replace").split()[:5]
                return Hello(version, release, machine, int(page))

    def run(
        self,
        argv: list[str],
        timeout_s: float,
        deadline: float,
        watch: Callable[[], None] | None = None,
    ) -> CommandResult:
        """Run one command; the agent enforces `timeout_s`, the host waits until `deadline`
        and calls `watch` while it waits (an exception from it ends the wait)."""
        self.watch = watch
        try:
            return self._run(argv, timeout_s, deadline)
        finally:
            self.watch = None

    def _run(self, argv: list[str], timeout_s: float, deadline: float) -> CommandResult:
        cid = self.next_id
        self.next_id += 1
        args = " ".join(a.encode().hex() for a in argv)
        self._send(f"RUN {cid} {int(timeout_s * 1000)} {args}\n".encode())
        out = {1: bytearray(), 2: bytearray()}
        while True:
            fields = self._line(deadline).decode(errors="replace").split()
            if fields[:1] == ["OUT"] and len(fields) == 4:
                data = self._exact(int(fields[3]), deadline)
                if int(fields[1]) == cid:
                    out[int(fields[2])].extend(data)
            elif fields[:1] == ["END"] and len(fields) == 5 and int(fields[1]) == cid:
                return CommandResult(
                    tuple(argv),
                    fields[2],
                    int(fields[3]),
                    bytes(out[1]),
                    bytes(out[2]),
                    int(fields[4]) / 1e6,
                )
