"""A deterministic newc cpio writer: same inputs, same bytes (mtime 0, root owner)."""

import stat
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO


@dataclass(frozen=True)
class Entry:
    """One archive member: a directory, a regular file, a symlink or a device node."""

    name: str  # path inside the archive, without a leading '/'
    mode: int  # full st_mode (type and permission bits)
    data: bytes = b""
    rdev: tuple[int, int] = (0, 0)


def directory(name: str, perm: int = 0o755) -> Entry:
    return Entry(name, stat.S_IFDIR | perm)


def file(name: str, data: bytes, executable: bool = False) -> Entry:
    return Entry(name, stat.S_IFREG | (0o755 if executable else 0o644), data)


def secret_file(name: str, data: bytes) -> Entry:
    """A file only its owner (root) may read: keys."""
    return Entry(name, stat.S_IFREG | 0o600, data)


def symlink(name: str, target: str) -> Entry:
    return Entry(name, stat.S_IFLNK | 0o777, target.encode())


def char_device(name: str, major: int, minor: int) -> Entry:
    return Entry(name, stat.S_IFCHR | 0o600, rdev=(major, minor))


def parents(name: str) -> list[str]:
    """The directories above an archive member, outermost first: a/b/c -> a, a/b."""
    parts = name.split("/")[:-1]
    return ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]


def host_files(files: dict[str, Path]) -> list[Entry]:
    """Host files at their archive paths (name -> host path), with the directories above
    them; a file executable on the host is executable in the archive."""
    entries = []
    for name, path in sorted(files.items()):
        entries += [directory(d) for d in parents(name)]
        entries.append(file(name, path.read_bytes(), bool(path.stat().st_mode & 0o111)))
    return entries


def tree(prefix: str, root: Path) -> list[Entry]:
    """Entries for every file and directory under `root`, placed under `prefix`."""
    entries = []
    for path in sorted(root.rglob("*")):
        name = f"{prefix}/{path.relative_to(root)}"
        if path.is_symlink():
            entries.append(symlink(name, str(path.readlink())))
        elif path.is_dir():
            entries.append(directory(name))
        else:
            entries.append(file(name, path.read_bytes(), bool(path.stat().st_mode & 0o111)))
    return entries


def write_cpio(out: BinaryIO, entries: list[Entry]) -> None:
    """Write the entries, parents first, in name order, then the trailer."""
    for ino, entry in enumerate(sorted(entries, key=lambda e: e.name), start=1):
        _write_member(out, ino, entry)
    _write_member(out, 0, Entry("TRAILER!!!", 0))


def _write_member(out: BinaryIO, ino: int, entry: Entry) -> None:
    name = entry.name.encode() + b"\0"
    nlink = 2 if stat.S_ISDIR(entry.mode) else 1
    fields = (
        ino,
        entry.mode,
        0,
        0,
        nlink,
        0,
        len(entry.data),
        0,
        0,
        entry.rdev[0],
        entry.rdev[1],
        len(name),
        0,
    )
    header = b"070701" + b"".join(b"%08X" % v for v in fields)
    out.write(header + name)
    out.write(b"\0" * (-(len(header) + len(name)) % 4))
    out.write(entry.data)
    out.write(b"\0" * (-len(entry.data) % 4))
