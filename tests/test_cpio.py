"""The initramfs writer, checked with the real cpio tool."""

import io
import subprocess
from pathlib import Path

from lab.image import cpio


def _archive() -> bytes:
    out = io.BytesIO()
    cpio.write_cpio(
        out,
        [
            cpio.file("lab/bin/prog", b"\x7fELF binary", executable=True),
            cpio.directory("lab"),
            cpio.directory("lab/bin"),
            cpio.char_device("dev/console", 5, 1),
            cpio.directory("dev"),
            cpio.symlink("bin/sh", "busybox"),
            cpio.directory("bin"),
            cpio.file("init", b"#!/bin/sh\n", executable=True),
        ],
    )
    return out.getvalue()


def test_same_entries_give_identical_bytes():
    assert _archive() == _archive()


def test_cpio_lists_entries_parents_first_with_modes(tmp_path: Path):
    listing = (
        subprocess.run(
            ["cpio", "-itv", "--quiet"], input=_archive(), capture_output=True, check=True
        )
        .stdout.decode()
        .splitlines()
    )
    names = [line.split()[-1] if "->" not in line else line.split()[-3] for line in listing]
    assert names == [
        "bin",
        "bin/sh",
        "dev",
        "dev/console",
        "init",
        "lab",
        "lab/bin",
        "lab/bin/prog",
    ]
    modes = {
        line.split()[-1] if "->" not in line else line.split()[-3]: line.split()[0]
        for line in listing
    }
    assert modes["dev/console"] == "crw-------"
    assert modes["lab/bin/prog"] == "-rwxr-xr-x"
    assert modes["bin/sh"] == "lrwxrwxrwx"


def test_cpio_extracts_file_contents(tmp_path: Path):
    subprocess.run(
        ["cpio", "-id", "--quiet", "--no-absolute-filenames", "lab/bin/prog", "init"],
        input=_archive(),
        cwd=tmp_path,
        check=True,
    )
    assert (tmp_path / "lab/bin/prog").read_bytes() == b"\x7fELF binary"
    assert (tmp_path / "init").read_bytes() == b"#!/bin/sh\n"


def test_parents_of_a_member_outermost_first():
    assert cpio.parents("lib/x86_64-linux-gnu/libc.so.6") == ["lib", "lib/x86_64-linux-gnu"]
    assert cpio.parents("init") == []


def test_host_files_keep_their_exec_bit_and_get_their_parents(tmp_path: Path):
    prog, lib = tmp_path / "prog", tmp_path / "libx.so"
    prog.write_bytes(b"prog")
    prog.chmod(0o755)
    lib.write_bytes(b"lib")
    lib.chmod(0o644)
    entries = cpio.host_files({"usr/sbin/prog": prog, "lib/x/libx.so": lib})
    assert [e.name for e in entries] == [
        "lib",
        "lib/x",
        "lib/x/libx.so",
        "usr",
        "usr/sbin",
        "usr/sbin/prog",
    ]
    modes = {e.name: e.mode & 0o7777 for e in entries}
    assert (modes["usr/sbin/prog"], modes["lib/x/libx.so"], modes["usr/sbin"]) == (
        0o755,
        0o644,
        0o755,
    )
    assert entries[-1].data == b"prog"


def test_private_members_keep_their_modes_in_the_archive(tmp_path: Path):
    out = io.BytesIO()
    cpio.write_cpio(
        out,
        [
            cpio.directory("root"),
            cpio.directory("root/.ssh", 0o700),
            cpio.secret_file("root/.ssh/authorized_keys", b"ssh-ed25519 AAAA\n"),
        ],
    )
    listing = (
        subprocess.run(
            ["cpio", "-itv", "--quiet"], input=out.getvalue(), capture_output=True, check=True
        )
        .stdout.decode()
        .splitlines()
    )
    modes = {line.split()[-1]: line.split()[0] for line in listing}
    assert modes == {
        "root": "drwxr-xr-x",
        "root/.ssh": "drwx------",
        "root/.ssh/authorized_keys": "-rw-------",
    }
