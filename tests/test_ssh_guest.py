"""A real guest reached over SSH: dropbear in an x86_64 image, the forwarded port, the lab's
keys; the agent served over an SSH channel with --stdio; `lab boot --ssh`."""

import dataclasses
import os
import time
from pathlib import Path

import paramiko
import pexpect
import pytest

from lab.errors import UsageError
from lab.image.initramfs import build_initramfs
from lab.image.ssh_image import require_ssh
from lab.transport.agent import AgentClient
from lab.vm.guest import Guest
from lab.vm.ports import free_port
from lab.vm.qemu import MachineSpec
from lab.vm.sshd import SshEndpoint, start_sshd
from tests.labcli import LAB

pytestmark = pytest.mark.integration
IO_TIMEOUT_S = 30.0


@pytest.fixture(scope="module", autouse=True)
def ssh_arch(arch):
    """Skip on an arch the lab gives no SSH server, with the lab's own reason (before its
    kernel is built)."""
    try:
        require_ssh(arch)
    except UsageError as e:
        pytest.skip(str(e))


@pytest.fixture(scope="module")
def ssh_guest(kernel, arch, tmp_path_factory):
    """A booted guest with its SSH server up, and its endpoint."""
    image = build_initramfs(arch, [], kernel=kernel, ssh=True)
    spec = MachineSpec(arch, kernel.boot_image, image.path, memory_mb=512, ssh_port=free_port())
    with Guest(spec, tmp_path_factory.mktemp(f"{arch.name}-ssh"), name="ssh") as guest:
        yield guest, start_sshd(guest)


def connect(endpoint: SshEndpoint) -> paramiko.SSHClient:
    """A client that trusts only the known_hosts file and logs in with the lab's key."""
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.load_host_keys(str(endpoint.known_hosts))
    client.connect(
        endpoint.host,
        port=endpoint.port,
        username=endpoint.user,
        key_filename=str(endpoint.key_file),
        look_for_keys=False,
        allow_agent=False,
        timeout=IO_TIMEOUT_S,
        banner_timeout=IO_TIMEOUT_S,
        auth_timeout=IO_TIMEOUT_S,
    )
    return client


def execute(client: paramiko.SSHClient, command: str, data: bytes = b"") -> tuple[int, bytes]:
    """Run a command with `data` on its stdin; its exit status and stdout."""
    stdin, stdout, _ = client.exec_command(command, timeout=IO_TIMEOUT_S)
    stdin.write(data)
    stdin.channel.shutdown_write()
    out = stdout.read()
    return stdout.channel.recv_exit_status(), out


def test_endpoint_names_the_forwarded_port(ssh_guest):
    guest, endpoint = ssh_guest
    assert endpoint.url() == f"ssh://root@127.0.0.1:{guest.spec.ssh_port}"
    assert endpoint.known_hosts.read_text().startswith(f"[127.0.0.1]:{endpoint.port} ")


def test_ssh_exec_runs_in_the_guest(ssh_guest):
    guest, endpoint = ssh_guest
    with connect(endpoint) as client:
        status, out = execute(client, "uname -r")
    assert status == 0
    assert out.decode().strip() == guest.boot.hello.release


def test_an_upload_comes_back_identical(ssh_guest):
    guest, _ = ssh_guest
    data = bytes(range(256)) * 1024 + os.urandom(100_000)
    with connect(ssh_guest[1]) as client:
        assert execute(client, "cat > /tmp/x", data) == (0, b"")
        status, back = execute(client, "cat /tmp/x")
    assert status == 0 and back == data
    assert guest.run(["@cat", "/tmp/x"], timeout_s=60).stdout == data  # the agent agrees


def test_agent_over_ssh_with_stdio_and_a_dropped_connection_kills_its_command(ssh_guest):
    guest, endpoint = ssh_guest
    sleeper = ["sh", "-c", "echo $$ > /tmp/sleeper; exec sleep 600"]
    with connect(endpoint) as client:
        channel = client.get_transport().open_session()
        channel.exec_command("/init --stdio")  # the image's agent, not as PID 1
        agent = AgentClient(channel)
        deadline = time.monotonic() + IO_TIMEOUT_S
        assert agent.hello(deadline).release == guest.boot.hello.release
        assert agent.run(["uname", "-m"], 30, deadline).stdout == b"x86_64\n"
        channel.sendall(f"RUN 9 0 {' '.join(a.encode().hex() for a in sleeper)}\n".encode())
        while not (pid := guest.run(["@cat", "/tmp/sleeper"], timeout_s=30).stdout.strip()):
            assert time.monotonic() < deadline, "the agent over SSH did not start sleep"
            time.sleep(0.1)
        cmdline = guest.run(["@cat", f"/proc/{int(pid)}/cmdline"], timeout_s=30).stdout
        assert cmdline == b"sleep\x00600\x00"
    # the SSH connection is gone: the agent read end of file and killed its command
    deadline = time.monotonic() + 10
    while guest.run(["@cat", f"/proc/{int(pid)}/stat"], timeout_s=30).ok:
        assert time.monotonic() < deadline, "sleep 600 survived the dropped SSH connection"
        time.sleep(0.2)


def test_start_sshd_needs_an_ssh_port_and_an_ssh_image(kernel, arch, tmp_path):
    image = build_initramfs(arch, [], kernel=kernel)  # no dropbear
    spec = MachineSpec(arch, kernel.boot_image, image.path, memory_mb=512, scratch_ext4_mb=0)
    unbooted = Guest(spec, tmp_path, name="no-port")
    try:
        with pytest.raises(UsageError, match="booted without an SSH port"):
            start_sshd(unbooted)  # refused before any command
    finally:
        unbooted.close()
    spec = dataclasses.replace(spec, ssh_port=free_port())
    with (
        Guest(spec, tmp_path, name="no-sshd") as guest,
        pytest.raises(
            UsageError,
            match=r"image has no /usr/sbin/dropbear: build it with "
            r"build_initramfs\(\.\.\., ssh=True\)",
        ),
    ):
        start_sshd(guest)


def test_lab_boot_ssh_prints_how_to_log_in(kernel, arch, tmp_path):
    child = pexpect.spawn(
        LAB[0],
        [
            *LAB[1:],
            "boot",
            "--ssh",
            "--arch",
            arch.name,
            "--kernel",
            kernel.id,
            "--memory",
            "512",
            "--results",
            str(tmp_path),
        ],
        timeout=180,
        encoding="utf-8",
    )
    try:
        child.expect(r"ssh -i (\S+) -o UserKnownHostsFile=(\S+) -p (\d+) root@127\.0\.0\.1")
        key, known_hosts, port = child.match.groups()
        child.expect(
            rf"lab run --target ssh://root@127\.0\.0\.1:{port} --ssh-key {key} "
            rf"--known-hosts {known_hosts} --arch {arch.name}"
        )
        endpoint = SshEndpoint("127.0.0.1", int(port), "root", Path(key), Path(known_hosts))
        with connect(endpoint) as client:
            assert execute(client, "echo over ssh") == (0, b"over ssh\n")
        child.sendline("echo on the console")  # the console is the user's
        child.expect("on the console")
        child.sendcontrol("]")
        child.expect("guest powered off")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0
