"""The lab's SSH keys (lab/image/ssh_keys.py) and what an SSH image holds (ssh_image.py), in a
cache of the test's own; and the refusal of SSH for ppc64 guests."""

import stat

import paramiko
import pytest

from lab.arch import get_arch
from lab.errors import UsageError
from lab.image import ssh_keys
from lab.image.initramfs import build_initramfs
from lab.image.ssh_image import ssh_entries

X86_64 = get_arch("x86_64")
PPC64 = get_arch("ppc64")


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FAULTLAB_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_client_key_is_a_private_openssh_ed25519_key_made_once(cache):
    path = ssh_keys.client_key()
    assert path.parent == cache / "ssh"
    assert mode(path) == 0o600 and mode(path.parent) == 0o700
    data = path.read_bytes()
    assert data.startswith(b"-----BEGIN OPENSSH PRIVATE KEY-----")
    key = paramiko.Ed25519Key.from_private_key_file(str(path))
    assert ssh_keys.client_public_key() == f"ssh-ed25519 {key.get_base64()} faultlab"
    assert ssh_keys.client_key().read_bytes() == data  # not made again
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary left


def test_host_key_is_made_once_per_arch_and_stable(cache):
    public = ssh_keys.host_public_key(X86_64)
    assert public.startswith("ssh-ed25519 AAAA") and len(public.split()) == 2
    assert mode(ssh_keys.host_key(X86_64)) == 0o600
    assert ssh_keys.host_public_key(X86_64) == public
    assert ssh_keys.host_public_key(PPC64) != public  # each arch its own


def test_known_hosts_trusts_the_host_key_at_the_forwarded_port_only(tmp_path):
    path = ssh_keys.write_known_hosts(X86_64, 40022, tmp_path / "known_hosts")
    assert path.read_text() == f"[127.0.0.1]:40022 {ssh_keys.host_public_key(X86_64)}\n"
    hosts = paramiko.HostKeys(str(path))
    key = hosts.lookup("[127.0.0.1]:40022")["ssh-ed25519"]
    assert f"ssh-ed25519 {key.get_base64()}" == ssh_keys.host_public_key(X86_64)
    assert hosts.lookup("[127.0.0.1]:40023") is None
    assert hosts.lookup("127.0.0.1") is None


def test_ssh_image_holds_dropbear_its_libraries_root_and_the_keys():
    entries = {e.name: e for e in ssh_entries(X86_64)}
    assert "usr/sbin/dropbear" in entries
    assert "lib64/ld-linux-x86-64.so.2" in entries  # its ELF interpreter
    assert any(name.startswith("lib/x86_64-linux-gnu/libtomcrypt.so") for name in entries)
    assert entries["etc/passwd"].data == b"root:x:0:0:root:/root:/bin/sh\n"
    assert stat.S_IMODE(entries["root/.ssh"].mode) == 0o700
    keys = entries["root/.ssh/authorized_keys"]
    assert stat.S_IMODE(keys.mode) == 0o600
    assert keys.data.decode() == ssh_keys.client_public_key() + "\n"
    host = entries["etc/dropbear/dropbear_ed25519_host_key"]
    assert stat.S_IMODE(host.mode) == 0o600
    assert host.data == ssh_keys.host_key(X86_64).read_bytes()


def test_ppc64_has_no_ssh_and_says_what_it_would_need():
    with pytest.raises(UsageError) as err:
        build_initramfs(PPC64, [], ssh=True)
    message = str(err.value)
    assert "static dropbear cross-built with powerpc64-linux-gnu-gcc" in message
    assert "the lab does not provide SSH for ppc64 guests" in message
