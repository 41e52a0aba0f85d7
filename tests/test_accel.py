"""The accelerator policy: TCG unless a recorded probe on this very host says KVM works."""

import os
from pathlib import Path

import pytest

from lab.arch import accel, get_arch

X86, PPC = get_arch("x86_64"), get_arch("ppc64")


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAULTLAB_CACHE", str(tmp_path))


def test_without_a_probe_auto_means_tcg():
    assert accel.recorded_probe() is None
    assert accel.choose_accel(X86, "auto") == "tcg"


def test_a_failed_probe_keeps_tcg():
    accel.record_probe(False, "guest hung after the ROM")
    assert accel.recorded_probe()["detail"] == "guest hung after the ROM"
    assert accel.choose_accel(X86, "auto") == "tcg"


def test_a_successful_probe_enables_kvm_only_for_the_host_arch():
    accel.record_probe(True, "agent answered in 0.9s")
    kvm_node = os.access("/dev/kvm", os.R_OK | os.W_OK)
    host_is_x86 = accel.HOST_MACHINE == "x86_64"
    assert accel.choose_accel(X86, "auto") == ("kvm" if kvm_node and host_is_x86 else "tcg")
    assert accel.choose_accel(PPC, "auto") == "tcg"  # no ppc64 KVM on an x86_64 host


def test_a_probe_from_another_host_setup_is_ignored():
    accel.probe_file().write_text('{"host": "some other kernel", "kvm_works": true}')
    assert accel.recorded_probe() is None
    assert accel.choose_accel(X86, "auto") == "tcg"


def test_explicit_choice_is_kept():
    assert accel.choose_accel(PPC, "tcg") == "tcg"
    assert accel.choose_accel(X86, "kvm") == "kvm"
