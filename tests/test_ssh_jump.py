"""Remote targets behind a jump host, with two real x86_64 guests: A (the jump host) has its
SSH port forwarded to the host's 127.0.0.1 and a private link to B; B has only the link
and its dropbear. An ssh config in the test's folder says how to reach each; `lab run`
runs the suites on B through A, on both at once, and refuses a jump host it does not know.
"""

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from lab.errors import UsageError
from lab.history.store import HistoryStore
from lab.image.initramfs import build_initramfs
from lab.image.ssh_image import require_ssh
from lab.suites.catalogue import all_suites
from lab.transport.base import TransportLost
from lab.transport.ssh import connect, exec_command
from lab.transport.ssh_config import SshOptions
from lab.transport.url import parse_target
from lab.vm.guest import Guest
from lab.vm.link import link_pair
from lab.vm.ports import free_port
from lab.vm.qemu import MachineSpec
from lab.vm.sshd import SshEndpoint, start_sshd
from tests.labcli import LAB, lab_run

pytestmark = pytest.mark.integration

SEED = "7"
CONFIG = """\
Host a
    HostName 127.0.0.1
    Port {port}
    User root

Host b
    HostName {inner}
    User root
    ProxyJump a

Host b-closed-port
    HostName {inner}
    Port 2323
    User root
    ProxyJump a

Host a-through-b
    HostName {jump}
    User root
    ProxyJump a,b

Host a-proxied
    HostName 127.0.0.1
    Port {port}
    User root
    ProxyCommand socat - TCP:%h:%p
"""


@dataclass(frozen=True)
class Pair:
    """The two guests' SSH servers and the files that reach them."""

    jump: SshEndpoint
    inner: SshEndpoint
    config: Path
    known_hosts: Path  # both hosts' keys

    def options(self, known_hosts: Path | None = None) -> SshOptions:
        return SshOptions(self.jump.key_file, known_hosts or self.known_hosts, self.config)

    def args(self, *targets: str) -> list[str]:
        listed = [arg for target in targets for arg in ("--target", target)]
        return [
            *listed,
            "--ssh-config",
            str(self.config),
            "--known-hosts",
            str(self.known_hosts),
            "--ssh-key",
            str(self.jump.key_file),
            "--target-tmpfs",
            "/tmp",
            "--target-ext4",
            "/mnt/ext4",
        ]


@pytest.fixture(scope="module", autouse=True)
def ssh_arch(arch):
    """Skip on an arch the lab gives no SSH server, with the lab's own reason (before its
    kernel is built)."""
    try:
        require_ssh(arch)
    except UsageError as e:
        pytest.skip(str(e))


@pytest.fixture(scope="module")
def pair(kernel, arch, tmp_path_factory):
    """Guest A (forwarded port and link) and guest B (link only), SSH servers up."""
    suites = [s for s in all_suites().values() if not s.builder]
    image = build_initramfs(arch, suites, kernel=kernel, ssh=True)
    link_a, link_b = link_pair()
    port = free_port()
    spec_a = MachineSpec(arch, kernel.boot_image, image.path, ssh_port=port, link=link_a)
    spec_b = MachineSpec(arch, kernel.boot_image, image.path, link=link_b)
    folder = tmp_path_factory.mktemp("ssh-jump")
    with (
        Guest(spec_a, tmp_path_factory.mktemp("jump"), name="jump") as a,
        Guest(spec_b, tmp_path_factory.mktemp("inner"), name="inner") as b,
    ):
        jump = start_sshd(a, "faultlab-jump")
        inner = start_sshd(b, "faultlab-inner")
        config = folder / "ssh_config"
        config.write_text(CONFIG.format(port=port, inner=link_b.ip, jump=link_a.ip))
        known_hosts = folder / "known_hosts"
        known_hosts.write_text(jump.known_hosts.read_text() + inner.known_hosts.read_text())
        yield Pair(jump, inner, config, known_hosts)


def states(run_dir: Path, target: str = "") -> dict[tuple[str, str], str]:
    records = json.loads((run_dir / "results.json").read_text())["records"]
    return {
        (r["suite"], r["case"]): r["state"]
        for r in records
        if r["suite"] != "boot" and r.get("target", "") == target
    }


def test_the_endpoints_are_the_forwarded_port_and_the_link_address(pair):
    assert (pair.jump.host, pair.inner.host, pair.inner.port) == (
        "127.0.0.1",
        "169.254.77.2",
        22,
    )
    assert pair.inner.known_hosts.read_text().startswith("169.254.77.2 ssh-ed25519 ")


def test_the_smoke_suite_runs_on_b_through_a_as_on_the_console(pair, kernel, tmp_path):
    common = ["--suite", "smoke", "--seed", SEED, "--results", str(tmp_path)]
    through, jump_dir = lab_run(*pair.args("ssh://b"), *common, "--no-history")
    console, console_dir = lab_run(
        "--kernel", kernel.id, "--arch", "x86_64", *common, "--no-history"
    )
    assert through.returncode == console.returncode == 0, through.stdout + through.stderr
    assert states(jump_dir, "ssh://b") == states(console_dir)
    assert states(jump_dir, "ssh://b")  # not empty
    route = f"root@169.254.77.2:22 through jump host a (root@127.0.0.1:{pair.jump.port})"
    assert f"ssh://b: connected to {route}" in through.stderr
    (entry,) = json.loads((jump_dir / "run.json").read_text())["arches"]
    assert entry["target"].startswith("ssh://b faultlab-inner (x86_64")
    assert (jump_dir / "x86_64" / "smoke.vmstat").exists()


def test_two_targets_run_at_once_each_in_its_own_folder(pair, tmp_path):
    history = tmp_path / "history.sqlite"
    done, run_dir = lab_run(
        *pair.args("ssh://a", "ssh://b"),
        "--suite",
        "smoke",
        "--seed",
        SEED,
        "--results",
        str(tmp_path),
        "--history",
        str(history),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    on_a, on_b = states(run_dir, "ssh://a"), states(run_dir, "ssh://b")
    assert on_a and on_a == on_b and set(on_a.values()) == {"pass"}
    entries = json.loads((run_dir / "run.json").read_text())["arches"]
    assert [e["target"].split()[:2] for e in entries] == [
        ["ssh://a", "faultlab-jump"],
        ["ssh://b", "faultlab-inner"],
    ]
    assert (run_dir / "x86_64-a" / "smoke.vmstat").exists()
    assert (run_dir / "x86_64-b" / "smoke.vmstat").exists()
    assert "recorded in the history" in done.stderr
    with HistoryStore(history) as db:
        cells = sorted(cell.key for cell in db.run(run_dir.name).cells)
    assert cells == ["target:faultlab-inner/x86_64/none", "target:faultlab-jump/x86_64/none"]


def test_a_jump_host_whose_key_is_unknown_is_refused_naming_it(pair, tmp_path):
    only_b = tmp_path / "known_hosts"
    only_b.write_text(pair.inner.known_hosts.read_text())
    done = subprocess.run(
        [
            *LAB,
            "run",
            *pair.args("ssh://b"),
            "--known-hosts",  # the last one given wins
            str(only_b),
            "--suite",
            "smoke",
            "--results",
            str(tmp_path),
            "--no-history",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 3, done.stdout + done.stderr
    (run_dir,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    (record,) = json.loads((run_dir / "results.json").read_text())["records"]
    port = pair.jump.port
    assert record["state"] == "infra"
    assert record["message"] == (
        f"target connection: ssh://b: jump host a (root@127.0.0.1:{port}): host key not in "
        f"{only_b}; check it and add it (ssh-keyscan -p {port} 127.0.0.1 >> {only_b})"
    )


def test_a_target_behind_the_jump_host_with_an_unknown_key_is_refused(pair, tmp_path):
    only_a = tmp_path / "known_hosts"
    only_a.write_text(pair.jump.known_hosts.read_text())
    with pytest.raises(TransportLost) as refused:
        connect(parse_target("ssh://b"), pair.options(only_a))
    assert str(refused.value) == (
        f"ssh://b: host key not in {only_a}; check it and add it (ssh-keyscan -p 22 "
        f"169.254.77.2 on the jump host a (root@127.0.0.1:{pair.jump.port}), its line added "
        f"to {only_a})"
    )


def test_a_jump_host_that_cannot_reach_the_target_is_named(pair):
    with pytest.raises(TransportLost) as refused:
        connect(parse_target("ssh://b-closed-port"), pair.options())
    assert str(refused.value) == (
        f"ssh://b-closed-port: the jump host a (root@127.0.0.1:{pair.jump.port}) cannot "
        "reach 169.254.77.2:2323: Connect failed"
    )


def test_only_the_jump_host_forwards(pair):
    """B's dropbear runs with -j -k: a route that jumps through B is refused there."""
    with pytest.raises(TransportLost) as refused:
        connect(parse_target("ssh://a-through-b"), pair.options())
    assert str(refused.value) == (
        "ssh://a-through-b: the jump host b (root@169.254.77.2:22) cannot reach "
        "169.254.77.1:22: Administratively prohibited"
    )


def test_a_proxycommand_carries_the_connection(pair):
    link = connect(parse_target("ssh://a-proxied"), pair.options())
    try:
        assert link.route() == (
            f"root@127.0.0.1:{pair.jump.port} through ProxyCommand "
            f"`socat - TCP:127.0.0.1:{pair.jump.port}`"
        )
        result = exec_command(link.client, link.url, "hostname")
        assert result.stdout == b"faultlab-jump\n"
    finally:
        link.close()
