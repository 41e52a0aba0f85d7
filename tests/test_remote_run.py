"""`lab run --target ssh://...` against a real x86_64 guest with an SSH server, playing the
remote machine: the same results as over the console, a dropped connection is infra and
leaves nothing running, a wrong host key is refused."""

import json
import socket
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from lab.history.store import HistoryStore
from lab.image.initramfs import build_initramfs
from lab.remote.modules import target_modules
from lab.remote.run import RemoteTarget, Session, run_one, upload_payload
from lab.suites.catalogue import all_suites
from lab.suites.knobs import new_knobs
from lab.transport.base import TransportLost
from lab.transport.ssh import SshOptions, connect
from lab.transport.url import parse_target
from lab.vm.guest import Guest
from lab.vm.ports import free_port
from lab.vm.qemu import MachineSpec
from lab.vm.sshd import start_sshd
from tests.labcli import lab_run

pytestmark = pytest.mark.integration

SUITES = "smoke,fault,nonlinear,nopfn"
SEED = "7"


@pytest.fixture(scope="module")
def ssh_guest(kernel, arch, tmp_path_factory):
    """A booted guest with dropbear, and how to reach it."""
    if arch.name != "x86_64":
        pytest.skip("the lab's guests have an SSH server on x86_64 only (README: Remote targets)")
    suites = [s for s in all_suites().values() if not s.builder]
    image = build_initramfs(arch, suites, kernel=kernel, ssh=True)
    spec = MachineSpec(arch, kernel.boot_image, image.path, ssh_port=free_port())
    with Guest(spec, tmp_path_factory.mktemp("ssh-guest")) as guest:
        yield guest, start_sshd(guest)


def target_args(endpoint, kernel) -> list[str]:
    return [
        "--target",
        endpoint.url(),
        "--ssh-key",
        str(endpoint.key_file),
        "--known-hosts",
        str(endpoint.known_hosts),
        "--target-tmpfs",
        "/tmp",
        "--target-ext4",
        "/mnt/ext4",
        "--target-kernel-build",
        kernel.id,
    ]


def states(run_dir: Path) -> dict[tuple[str, str], str]:
    records = json.loads((run_dir / "results.json").read_text())["records"]
    return {(r["suite"], r["case"]): r["state"] for r in records if r["suite"] != "boot"}


def test_suites_over_ssh_give_the_console_results(ssh_guest, kernel, tmp_path):
    guest, endpoint = ssh_guest
    history = tmp_path / "history.sqlite"
    over_ssh, ssh_dir = lab_run(
        *target_args(endpoint, kernel),
        "--suite",
        SUITES,
        "--seed",
        SEED,
        "--results",
        str(tmp_path),
        "--history",
        str(history),
    )
    console, console_dir = lab_run(
        "--kernel",
        kernel.id,
        "--arch",
        "x86_64",
        "--suite",
        SUITES,
        "--seed",
        SEED,
        "--results",
        str(tmp_path),
        "--no-history",
    )
    assert over_ssh.returncode == console.returncode == 0, over_ssh.stdout + over_ssh.stderr
    ssh_states, console_states = states(ssh_dir), states(console_dir)
    assert ssh_states == console_states
    skipped = {case for case, state in ssh_states.items() if state != "pass"}
    assert skipped == {("nopfn", "spufs/spufs")}  # skip_on x86_64: spufs is Cell only
    assert ("nopfn", "nopfn/kernel") in ssh_states  # the module came from the lab build
    (entry,) = json.loads((ssh_dir / "run.json").read_text())["arches"]
    assert entry["target"].startswith(f"{endpoint.url()} ")
    assert entry["release"] == guest.hello.release
    assert (ssh_dir / entry["kernel_log"]).exists()
    moved = dict(
        line.split() for line in (ssh_dir / "x86_64" / "smoke.vmstat").read_text().splitlines()
    )
    assert int(moved["pgfault"]) > 0  # the target's /proc/vmstat around the program
    with HistoryStore(history) as db:
        (cell,) = db.run(ssh_dir.name).cells
    assert cell.key == "target:faultlab-x86_64/x86_64/none" and cell.build_state == "ok"


def remote(endpoint) -> RemoteTarget:
    return RemoteTarget(
        parse_target(endpoint.url()),
        SshOptions(endpoint.key_file, endpoint.known_hosts),
        target_dir="/var/tmp/faultlab",
        tmpfs="/tmp",
        ext4="/mnt/ext4",
    )


def processes(guest: Guest) -> str:
    """The guest's process list, through the console agent."""
    return guest.run(["ps"], timeout_s=30).stdout.decode(errors="replace")


def test_a_dropped_connection_is_infra_and_leaves_no_process(ssh_guest, kernel, arch, tmp_path):
    guest, endpoint = ssh_guest
    target = replace(remote(endpoint), kernel_build=kernel.id)
    programs = {p.name: p for s in all_suites().values() for p in s.programs}
    fault, smoke = programs["fault"], programs["smoke"]
    session = Session(target)
    client = session.connect()
    modules = target_modules(kernel.id, arch, guest.hello.release)
    upload_payload(client, target, arch, guest.hello.release, [fault, smoke], modules)
    soak = new_knobs(7, duration_s=120)

    def drop() -> None:  # the network goes away under the running program
        time.sleep(3)
        client.get_transport().sock.shutdown(socket.SHUT_RDWR)

    threading.Thread(target=drop, daemon=True).start()
    start = time.monotonic()
    (record,) = run_one(session, arch, fault, soak, tmp_path, tmp_path / "kernel.log")
    assert record.state == "infra"
    assert "connection lost while running" in record.message
    assert time.monotonic() - start < 60
    deadline = time.monotonic() + 10
    while (
        "/fault" in processes(guest) or "agent --stdio" in processes(guest)
    ) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert "/fault" not in processes(guest) and "agent --stdio" not in processes(guest)
    # The next program reconnects once and runs.
    after = run_one(session, arch, smoke, new_knobs(7), tmp_path, tmp_path / "kernel.log")
    assert session.reconnects == 1
    assert {r.state for r in after} == {"pass"}
    session.close()


def test_a_changed_host_key_is_refused(ssh_guest, tmp_path):
    _, endpoint = ssh_guest
    line = endpoint.known_hosts.read_text().split()
    forged = tmp_path / "known_hosts"
    other = "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
    forged.write_text(f"{line[0]} ssh-ed25519 {other}\n")
    with pytest.raises(TransportLost, match="does not match"):
        connect(parse_target(endpoint.url()), SshOptions(endpoint.key_file, forged))
    unknown = tmp_path / "empty_known_hosts"
    unknown.write_text("")
    with pytest.raises(TransportLost, match="host key not in"):
        connect(parse_target(endpoint.url()), SshOptions(endpoint.key_file, unknown))
