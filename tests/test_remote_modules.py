"""The lab's modules built against a kernel build directory, as for a remote target whose
kernel the user built: here the lab's own build tree of the kernel under test."""

import subprocess
from pathlib import Path

import pytest

from lab.remote.modules import kernel_dir_modules

pytestmark = pytest.mark.integration


def test_modules_built_against_a_kernel_build_directory_carry_its_release(kernel, arch):
    modules = kernel_dir_modules(Path(kernel.metadata["objtree"]), arch, kernel.release)
    assert not modules.missing
    ko = modules.files["faultlab_spu"]
    vermagic = subprocess.run(
        ["/sbin/modinfo", "-F", "vermagic", str(ko)], capture_output=True, text=True, check=True
    ).stdout
    assert vermagic.split()[0] == kernel.release


def test_a_build_directory_of_another_release_is_the_reason_to_skip(kernel, arch):
    modules = kernel_dir_modules(Path(kernel.metadata["objtree"]), arch, "6.1.0-other")
    assert not modules.files
    assert modules.missing.endswith(f"is release {kernel.release}; the target runs 6.1.0-other")
