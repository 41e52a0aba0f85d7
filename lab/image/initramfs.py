"""The guest initramfs: agent as /init, suite programs in /lab/bin (with the shared libraries
of a dynamically linked peer program at their usual paths), the kernel's modules, and on
request an SSH server (ssh_image.py).

The archive is deterministic and cached by a hash of its contents.
"""

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from lab import paths
from lab.arch import ArchProfile
from lab.errors import UsageError
from lab.image import cpio
from lab.image.guest_programs import busybox, compile_program
from lab.image.ssh_image import require_ssh, ssh_entries
from lab.kernel.build import KernelBuild
from lab.peers.registry import build_peer
from lab.suites.catalogue import Suite
from lab.suites.layout import GUEST_PATHS

AGENT_SOURCE = paths.IMAGES_DIR / "agent" / "agent.c"
LABCTL_SOURCE = paths.IMAGES_DIR / "labctl" / "labctl.c"  # memory-pressure controls
BUSYBOX_APPLETS = (
    "sh",
    "ls",
    "cat",
    "echo",
    "dmesg",
    "mount",
    "ps",
    "free",
    "grep",
    "top",
    "vi",
    "less",
    "mkdir",
    "rm",
    "cp",
    "mv",
    "sync",
    "sleep",
    "swapon",
    "mkswap",
    # networking, and what SSH sessions and uploads use
    "ip",
    "ifconfig",
    "route",
    "hostname",
    "uname",
    "chmod",
    "chown",
    "ln",
    "touch",
    "rmdir",
    "umount",
    "id",
    "env",
    "kill",
    "head",
    "tail",
    "wc",
    "sed",
    "tr",
    "cut",
    "sort",
    "cmp",
    "stat",
    "find",
    "xargs",
    "dd",
    "tar",
    "gzip",
    "gunzip",
    "mktemp",
    "readlink",
    "realpath",
    "sha256sum",
    "md5sum",
    "date",
    "true",
    "false",
    "test",
)
BINDIR = GUEST_PATHS.bindir.lstrip("/")  # the programs, as the image holds them
PSEUDO_DIRS = ("dev", "proc", "sys", "tmp", "root", "mnt", "bin", "sbin", "lab", BINDIR)


@dataclass(frozen=True)
class Image:
    """A built initramfs."""

    path: Path
    digest: str
    programs: tuple[str, ...]
    absent: dict[str, str] = field(default_factory=dict)  # program name -> why it is not there


def build_initramfs(
    arch: ArchProfile, suites: list[Suite], kernel: KernelBuild | None = None, ssh: bool = False
) -> Image:
    """Assemble (or reuse) the initramfs for `arch` with the suites' programs and modules.

    With `kernel`, its modules go in and the peer suites' programs are built for it; without
    it, those programs are absent. With `ssh`, dropbear and the lab's keys go in too (x86_64
    only: a UsageError says why not on another arch)."""
    if ssh:
        require_ssh(arch)
    modules_dir = kernel.modules_dir if kernel else None
    entries = [cpio.directory(d) for d in PSEUDO_DIRS]
    entries.append(cpio.char_device("dev/console", 5, 1))
    entries.append(
        cpio.file(
            "init", compile_program(arch, AGENT_SOURCE, "agent").read_bytes(), executable=True
        )
    )
    entries.append(
        cpio.file(
            f"{BINDIR}/labctl", compile_program(arch, LABCTL_SOURCE, "labctl").read_bytes(), True
        )
    )
    programs: list[str] = []
    absent: dict[str, str] = {}
    for suite in suites:
        if suite.builder:
            entries += peer_entries(arch, suite, kernel, programs, absent)
            continue
        for program in suite.programs:
            binary = compile_program(arch, program.source, program.name)
            entries.append(cpio.file(f"{BINDIR}/{program.name}", binary.read_bytes(), True))
            programs.append(program.name)
    bb = busybox() if arch.runs_host_packages else None
    if bb:
        entries.append(cpio.file("bin/busybox", bb.read_bytes(), executable=True))
        entries += [cpio.symlink(f"bin/{applet}", "busybox") for applet in BUSYBOX_APPLETS]
    if ssh:
        if not bb:
            raise UsageError(
                "busybox not found; an SSH guest needs its shell: install the "
                "Debian package busybox-static (or run `make deps`)"
            )
        entries += ssh_entries(arch)
    if modules_dir and (modules_dir / "lib").is_dir():
        entries.append(cpio.directory("lib"))
        entries += cpio.tree("lib", modules_dir / "lib")

    entries = list(dict.fromkeys(entries))  # peers' libraries and the modules share lib/
    digest = hashlib.sha256()
    for e in sorted(entries, key=lambda e: e.name):
        digest.update(f"{e.name}\0{e.mode}\0{e.rdev}\0".encode())
        digest.update(hashlib.sha256(e.data).digest())
    key = digest.hexdigest()[:16]
    path = paths.cache_dir("images", arch.name) / f"initramfs-{key}.cpio"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        with open(tmp, "wb") as out:
            cpio.write_cpio(out, entries)
        tmp.rename(path)
    return Image(path, key, tuple(programs), absent)


def peer_entries(
    arch: ArchProfile,
    suite: Suite,
    kernel: KernelBuild | None,
    programs: list[str],
    absent: dict[str, str],
) -> list[cpio.Entry]:
    """The binaries of a peer suite and the libraries they load; its programs go to
    `programs`, or `absent` with why."""
    if kernel is None:
        absent |= {
            p.name: f"suite {suite.name} is built for a kernel, and none was given"
            for p in suite.programs
        }
        return []
    built = build_peer(suite, arch, kernel)
    for program in suite.programs:
        if program.file in built.binaries:
            programs.append(program.name)
        else:
            absent[program.name] = built.absent[program.file]
    entries = [
        cpio.file(f"{BINDIR}/{name}", path.read_bytes(), True)
        for name, path in sorted(built.binaries.items())
    ]
    return entries + cpio.host_files(built.libraries)
