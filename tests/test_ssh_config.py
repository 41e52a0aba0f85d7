"""Remote targets resolved through an ssh config (tests/data/ssh/config, a real file as a
lab user keeps one): Host aliases, HostName, User, Port, IdentityFile, UserKnownHostsFile,
ProxyJump and ProxyCommand; what the URL and the options override; key logins only."""

import getpass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from paramiko.auth_strategy import PrivateKey
from paramiko.ssh_exception import AuthenticationException

from lab.errors import UsageError
from lab.transport.ssh_auth import KeysOnly
from lab.transport.ssh_config import (
    SshOptions,
    describe,
    fabric_config,
    jump_hosts,
    key_files,
    known_hosts_files,
    proxy_command,
    target_connection,
)
from lab.transport.url import parse_target

CONFIG = Path(__file__).parent / "data" / "ssh" / "config"
OPTIONS = SshOptions(config_file=CONFIG)


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """A home of its own, with the keys the config names and no SSH agent."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    (tmp_path / ".ssh").mkdir()
    for name in ("cell", "jump"):
        write_key(tmp_path / ".ssh" / name)
    return tmp_path


def write_key(path: Path, passphrase: bytes = b"") -> Path:
    encryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    path.write_bytes(
        Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, encryption
        )
    )
    path.chmod(0o600)
    return path


def resolve(target: str, options: SshOptions = OPTIONS):
    return target_connection(parse_target(target), options)


def test_a_host_alias_gives_its_hostname_user_port_and_key(home):
    blade = resolve("ssh://cell-blade")
    assert (blade.host, blade.user, blade.port) == ("10.1.2.3", "root", 2222)
    assert key_files(blade, OPTIONS) == [home / ".ssh" / "cell"]
    assert known_hosts_files(blade, OPTIONS) == [home / ".ssh" / "known_hosts"]


def test_proxyjump_makes_the_jump_host_a_gateway_resolved_by_its_own_block(home):
    blade = resolve("ssh://cell-blade")
    (jump,) = jump_hosts(blade)
    assert blade.gateway is jump
    assert (jump.host, jump.user, jump.port) == ("jump.example", "hopper", 2022)
    assert key_files(jump, OPTIONS) == [home / ".ssh" / "jump"]
    assert known_hosts_files(jump, OPTIONS) == [home / ".ssh" / "jump_known_hosts"]
    assert not jump.gateway  # reached directly
    assert describe(blade) == "root@10.1.2.3:2222 through jump host hopper@jump.example:2022"


def test_several_jump_hosts_are_visited_in_the_order_given(home):
    power9 = resolve("ssh://power9")
    bastion, inner = jump_hosts(power9)
    assert (bastion.host, bastion.user, bastion.port) == ("bastion", "admin", 2200)
    assert (inner.host, inner.original_host) == ("10.9.0.1", "inner")
    assert inner.gateway is bastion and power9.gateway is inner
    assert describe(power9) == (
        "root@power9.lab.example:22 through jump hosts admin@bastion:2200, inner (root@10.9.0.1:22)"
    )


def test_proxycommand_carries_the_connection_with_host_and_port_filled_in(home):
    ps3 = resolve("ssh://ps3")
    assert (ps3.host, ps3.user, ps3.port) == ("192.168.7.3", "kernel", 22)
    assert proxy_command(ps3) == "socat - TCP:192.168.7.3:22"
    assert not jump_hosts(ps3)


def test_the_url_s_user_and_port_are_the_proxycommand_s(home):
    ps3 = resolve("ssh://ps3:2200")
    assert (ps3.host, ps3.port, proxy_command(ps3)) == (
        "192.168.7.3",
        2200,
        "socat - TCP:192.168.7.3:2200",
    )


def test_proxyjump_none_goes_straight_to_the_host(home):
    direct = resolve("ssh://direct")
    assert (direct.host, direct.gateway, jump_hosts(direct)) == ("10.1.2.4", False, [])


def test_the_url_s_user_and_port_override_the_config_and_keep_its_route(home):
    blade = resolve("ssh://admin@cell-blade:22")
    assert (blade.host, blade.user, blade.port) == ("10.1.2.3", "admin", 22)
    assert [hop.host for hop in jump_hosts(blade)] == ["jump.example"]


def test_ssh_key_and_known_hosts_override_the_config_for_every_hop(home, tmp_path):
    key = write_key(tmp_path / "lab_key")
    options = SshOptions(key, tmp_path / "known", CONFIG)
    blade = resolve("ssh://cell-blade", options)
    for hop in [blade, *jump_hosts(blade)]:
        assert key_files(hop, options) == [key]
        assert known_hosts_files(hop, options) == [tmp_path / "known"]


def test_an_alias_not_in_the_config_is_a_host_name_with_the_defaults(home):
    other = resolve("ssh://other")
    assert (other.host, other.user, other.port) == ("other", getpass.getuser(), 22)
    assert (other.gateway, key_files(other, OPTIONS)) == (False, [])


def test_without_a_config_file_nothing_is_looked_up(home):
    blade = resolve("ssh://cell-blade", SshOptions())  # ~/.ssh/config: there is none
    assert (blade.host, blade.port, blade.gateway) == ("cell-blade", 22, False)


def test_a_config_file_that_is_not_there_is_refused(tmp_path):
    with pytest.raises(UsageError, match=f"ssh config file {tmp_path}/nothing not found"):
        fabric_config(SshOptions(config_file=tmp_path / "nothing"))


def sources(hop, options: SshOptions) -> list:
    strategy = KeysOnly(hop.ssh_config, hop.config, hop.user)
    assert strategy is not None
    return list(strategy.get_sources())


def test_logins_offer_keys_and_nothing_else(home, tmp_path):
    blade = resolve("ssh://cell-blade")
    (cell,) = sources(blade, OPTIONS)
    assert isinstance(cell, PrivateKey) and cell.path == home / ".ssh" / "cell"
    key = write_key(tmp_path / "lab_key")
    given = resolve("ssh://cell-blade", SshOptions(key, config_file=CONFIG))
    for hop in [given, *jump_hosts(given)]:
        (only,) = sources(hop, OPTIONS)
        assert isinstance(only, PrivateKey) and only.path == key
    write_key(home / ".ssh" / "id_ed25519")  # no key named: the default keys
    (default,) = sources(resolve("ssh://other"), OPTIONS)
    assert isinstance(default, PrivateKey) and default.path == home / ".ssh" / "id_ed25519"


def test_a_key_that_needs_a_passphrase_is_refused_saying_so(home, tmp_path):
    key = write_key(tmp_path / "locked", passphrase=b"secret")
    blade = resolve("ssh://cell-blade", SshOptions(key, config_file=CONFIG))
    with pytest.raises(AuthenticationException, match="needs a passphrase"):
        sources(blade, OPTIONS)
