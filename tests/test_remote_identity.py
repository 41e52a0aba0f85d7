"""A remote target's identity and the arch the lab runs there."""

import pytest

from lab.errors import UsageError
from lab.remote.identity import parse_identity, target_arch
from lab.transport.url import TargetUrl

URL = TargetUrl("root", "cell-blade")


def test_a_cell_blade_is_big_endian_ppc64_with_its_cpu_named():
    identity = parse_identity(
        "ppc64\n6.1.0-faultlab\ncell-blade\ncpu\t\t: Cell Broadband Engine, altivec supported\n"
    )
    assert identity.release == "6.1.0-faultlab"
    assert target_arch(identity, URL).name == "ppc64"
    assert identity.label() == (
        "cell-blade (ppc64, Cell Broadband Engine, altivec supported, 6.1.0-faultlab)"
    )


def test_a_busybox_guest_without_a_cpu_line_is_x86_64():
    identity = parse_identity("x86_64\n6.1.192\n(none)\n\n")
    assert (identity.hostname, identity.cpu) == ("(none)", "")
    assert target_arch(identity, URL).name == "x86_64"


@pytest.mark.parametrize("machine, why", [("ppc64le", "little-endian"), ("aarch64", "aarch64")])
def test_machines_the_lab_has_no_programs_for_are_refused(machine, why):
    with pytest.raises(UsageError, match=why):
        target_arch(parse_identity(f"{machine}\n6.1\nbox\n"), URL)


def test_missing_lines_are_an_error():
    with pytest.raises(ValueError, match="machine, release and host name"):
        parse_identity("x86_64\n")
