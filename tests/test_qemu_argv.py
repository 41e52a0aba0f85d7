"""QEMU command lines per arch, and the free port for a guest's SSH forward."""

import socket
from pathlib import Path

import pytest

from lab.arch import get_arch
from lab.errors import UsageError
from lab.vm.link import link_pair
from lab.vm.ports import free_port
from lab.vm.qemu import MachineSpec, Sockets, qemu_argv

SOCKETS = Sockets(Path("/run/q.sock"), Path("/run/a.sock"))


def test_ppc64_uses_pseries_vof_power9_and_hvc0():
    spec = MachineSpec(get_arch("ppc64"), Path("vmlinux"), Path("initrd.cpio"))
    argv = qemu_argv(spec, SOCKETS)
    assert argv[0] == "qemu-system-ppc64"
    assert argv[argv.index("-M") + 1] == "pseries,x-vof=on"
    assert argv[argv.index("-cpu") + 1] == "power9"
    assert argv[argv.index("-append") + 1].startswith("console=hvc0 panic=-1")
    assert "disable_radix" not in argv[argv.index("-append") + 1]


def test_tcg_runs_ppc64_vcpus_on_one_host_thread_and_x86_64_on_one_each():
    ppc64 = qemu_argv(MachineSpec(get_arch("ppc64"), Path("vmlinux"), Path("i")), SOCKETS)
    x86_64 = qemu_argv(MachineSpec(get_arch("x86_64"), Path("bzImage"), Path("i")), SOCKETS)
    assert ppc64[ppc64.index("-accel") + 1] == "tcg,thread=single"
    assert x86_64[x86_64.index("-accel") + 1] == "tcg,thread=multi"


def test_ppc64_hash_mmu_adds_disable_radix():
    spec = MachineSpec(get_arch("ppc64"), Path("vmlinux"), Path("i"), mmu="hash")
    assert " disable_radix" in spec.cmdline()


def test_x86_64_console_agent_port_qmp_and_accel():
    spec = MachineSpec(
        get_arch("x86_64"),
        Path("bzImage"),
        Path("i"),
        accel="kvm",
        memory_mb=512,
        drives=(Path("disk.img"),),
    )
    argv = qemu_argv(spec, SOCKETS)
    assert argv[argv.index("-accel") + 1] == "kvm"
    assert argv[argv.index("-cpu") + 1] == "host"
    assert argv[argv.index("-m") + 1] == "512"
    assert argv[argv.index("-append") + 1].startswith("console=ttyS0 ")
    assert "unix:/run/q.sock,server=on,wait=off" in argv
    assert "virtserialport,bus=vser0.0,chardev=agent,name=lab.agent" in argv
    assert "file=disk.img,format=raw,if=virtio,index=0" in argv
    assert "-no-reboot" in argv


def test_ppc64_memory_must_be_a_multiple_of_256_mib():
    spec = MachineSpec(get_arch("ppc64"), Path("vmlinux"), Path("i"), memory_mb=384)
    with pytest.raises(UsageError, match="ppc64 guest RAM must be a multiple of 256 MiB"):
        qemu_argv(spec, SOCKETS)


def test_no_nic_without_an_ssh_port():
    argv = qemu_argv(MachineSpec(get_arch("x86_64"), Path("bzImage"), Path("i")), SOCKETS)
    assert argv[argv.index("-nic") + 1] == "none"
    assert "-netdev" not in argv


def test_ssh_port_forwards_localhost_only_to_guest_port_22_on_a_restricted_net():
    spec = MachineSpec(get_arch("x86_64"), Path("bzImage"), Path("i"), ssh_port=40022)
    argv = qemu_argv(spec, SOCKETS)
    assert "-nic" not in argv
    netdev = argv[argv.index("-netdev") + 1]
    assert netdev == "user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:40022-:22"
    devices = [argv[i + 1] for i, a in enumerate(argv) if a == "-device"]
    assert "virtio-net-pci,netdev=net0,mac=52:54:00:12:34:56" in devices


def test_a_private_link_is_a_second_nic_on_udp_datagrams_between_localhost_ports():
    first, second = link_pair()
    assert (first.remote_port, second.remote_port) == (second.local_port, first.local_port)
    assert (first.address(), second.address()) == ("169.254.77.1/24", "169.254.77.2/24")
    jump = MachineSpec(get_arch("x86_64"), Path("bzImage"), Path("i"), ssh_port=40022, link=first)
    argv = qemu_argv(jump, SOCKETS)
    netdevs = [argv[i + 1] for i, a in enumerate(argv) if a == "-netdev"]
    assert netdevs[0].startswith("user,id=net0,restrict=on,")
    assert netdevs[1] == (
        f"dgram,id=link0,local.type=inet,local.host=127.0.0.1,local.port={first.local_port},"
        f"remote.type=inet,remote.host=127.0.0.1,remote.port={second.local_port}"
    )
    devices = [argv[i + 1] for i, a in enumerate(argv) if a == "-device"]
    assert f"virtio-net-pci,netdev=link0,mac={first.mac}" in devices
    inner = MachineSpec(get_arch("x86_64"), Path("bzImage"), Path("i"), link=second)
    argv = qemu_argv(inner, SOCKETS)
    assert "-nic" not in argv  # the link only: no user networking at all
    assert [argv[i + 1].split(",")[0] for i, a in enumerate(argv) if a == "-netdev"] == ["dgram"]


def test_ssh_port_out_of_range_is_refused():
    spec = MachineSpec(get_arch("x86_64"), Path("bzImage"), Path("i"), ssh_port=70000)
    with pytest.raises(UsageError, match="SSH port 70000 is not a TCP port"):
        qemu_argv(spec, SOCKETS)


def test_free_port_can_be_bound_on_localhost():
    port = free_port()
    assert 1024 <= port < 65536
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))  # nothing holds it


def test_a_kernels_boot_options_reach_its_guests_command_line(tmp_path):
    """lab_machine() puts the boot options the build's metadata names (a debug kernel's
    page_poison=1) on the command line, and takes its programs' timeout factor."""
    from lab.kernel.build import KernelBuild
    from lab.run.machine import GuestOptions, lab_machine

    metadata = {
        "id": "d86",
        "arch": "x86_64",
        "boot_image": "bzImage",
        "cmdline": ["page_poison=1", "kasan_multi_shot"],
        "timeout_factor": 3.0,
    }
    machine = lab_machine(KernelBuild(tmp_path, metadata), [], GuestOptions(accel="tcg"))
    assert machine.spec.cmdline().endswith(" page_poison=1 kasan_multi_shot")
    assert machine.timeout_factor == 3.0
    assert machine.spec.boot_deadline_s == 3 * get_arch("x86_64").boot_timeout_s
    older = {k: v for k, v in metadata.items() if k not in ("cmdline", "timeout_factor")}
    machine = lab_machine(KernelBuild(tmp_path, older), [], GuestOptions(accel="tcg"))
    assert "page_poison" not in machine.spec.cmdline() and machine.timeout_factor == 1.0
    assert machine.spec.boot_deadline_s == get_arch("x86_64").boot_timeout_s
