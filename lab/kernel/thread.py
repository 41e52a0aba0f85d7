"""A mailing-list thread mbox -> the patches of its newest complete revision, through b4.

b4 (`b4 am --use-local-mbox`, offline, with none of the user's git or b4 settings, so that
a thread gives the same patches everywhere) takes a revision of the series, orders its
patches and adds the trailers of the replies (Reviewed-by, Acked-by, Tested-by; those given
to the cover letter go to every patch, those given to an unchanged patch of an older
revision come along) into an mbox that `git am` applies. The newest revision is taken when
it is complete, else the newest older one that is (said on stderr); none complete is a
UsageError. The result is cached by the thread's bytes and b4's version.
"""

import hashlib
import importlib.metadata
import json
import os
import shutil
import sys
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from lab import paths, proc
from lab.errors import InfraError, UsageError
from lab.kernel.mails import read_mail, read_mails
from lab.progress import note
from lab.scratch import scratch_dir

AM_MBOX = "picked.mbx"  # b4's am-ready mbox in a pick's directory
COVER = "picked.cover"  # and its cover letter, when the revision has one
PICK_FILE = "pick.json"


@dataclass(frozen=True)
class PickedPatch:
    """One patch of the revision taken."""

    number: int
    subject: str  # as b4 wrote it: '[PATCH v2 1/3] mm/msync: ...'
    message_id: str


@dataclass(frozen=True)
class ThreadPick:
    """The revision of a thread that b4 made ready to apply, and what was passed over."""

    revision: int
    total: int  # patches the revision announces
    patches: tuple[PickedPatch, ...]
    cover: str = ""  # the cover letter's message-id ('' without one)
    skipped: tuple[str, ...] = ()  # newer revisions not taken: 'v3 lacks patch 2/3'
    b4: str = ""  # b4's version
    mbox: Path = Path()  # b4's am-ready mbox of the revision

    @property
    def message_ids(self) -> list[str]:
        """The cover letter's and the patches' message-ids, in order."""
        return [*([self.cover] if self.cover else []), *(p.message_id for p in self.patches)]

    def describe(self) -> str:
        """'v2 (3 patches, cover <id>); v3 lacks patch 2/3'."""
        text = f"v{self.revision} ({len(self.patches)} patches"
        text += f", cover <{self.cover}>)" if self.cover else ")"
        return "; ".join([text, *self.skipped])

    def metadata(self) -> dict:
        """What a build's metadata.json records of it."""
        return {**asdict(self), "mbox": str(self.mbox), "message_ids": self.message_ids}


def b4_version() -> str:
    """The installed b4's version, or an InfraError saying how to install it."""
    try:
        return importlib.metadata.version("b4")
    except importlib.metadata.PackageNotFoundError:
        raise InfraError(
            "b4 is not installed, and a thread mbox needs it: `pip install -e .` "
            "(or `make deps`) installs the lab's dependencies"
        ) from None


def pick_revision(thread: Path) -> ThreadPick:
    """The newest complete revision of the thread, from the cache or from b4."""
    version = b4_version()
    key = hashlib.sha256(thread.read_bytes() + version.encode()).hexdigest()[:16]
    entry = paths.cache_dir("threads") / key
    pick = cached_pick(entry)
    if pick is None:
        with scratch_dir("b4") as work:
            pick = newest_complete(thread, work, version)
            pick = store_pick(pick, entry)
    note(f"{thread.name}: b4 took {pick.describe()}")
    return pick


def newest_complete(thread: Path, work: Path, version: str) -> ThreadPick:
    """Try the newest revision, then each older one, until one has all its patches."""
    pick = b4_am(thread, work / "newest", None)
    if pick is None:
        raise UsageError(f"{thread}: b4 found no patch in this thread")
    skipped: list[str] = []
    revision = pick.revision
    while True:
        if pick is not None:
            missing = missing_numbers(pick)
            if not missing:
                return replace(pick, skipped=tuple(skipped), b4=version)
            numbers = ", ".join(f"{n}/{pick.total}" for n in missing)
            skipped.append(f"v{pick.revision} lacks patch {numbers}")
        revision -= 1
        if revision < 1:
            raise UsageError(
                f"{thread}: no revision of the series is complete: " + "; ".join(skipped)
            )
        pick = b4_am(thread, work / f"v{revision}", revision)


def missing_numbers(pick: ThreadPick) -> list[int]:
    have = {p.number for p in pick.patches}
    return [n for n in range(1, pick.total + 1) if n not in have]


def b4_am(thread: Path, out: Path, revision: int | None) -> ThreadPick | None:
    """`b4 am` of one revision (None: the newest) into `out`; None when the thread has no
    patch of that revision."""
    out.mkdir(parents=True)
    argv = [
        *b4_command(),
        "am",
        "--use-local-mbox",
        str(thread.resolve()),
        "--outdir",
        str(out),
        "--mbox-name",
        AM_MBOX,
        "--no-partial-reroll",  # a revision that resends some patches is incomplete
    ]
    if revision is not None:
        argv += ["--use-version", str(revision)]
    result = proc.run(argv, cwd=out, env=b4_env(), check=False)
    if result.returncode != 0:
        raise UsageError(f"{thread}: b4 could not read the thread:\n{result.stdout.strip()}")
    if not (out / AM_MBOX).is_file():
        return None
    mails = read_mails(out / AM_MBOX)
    positions = [m.position or (1, 1) for m in mails]
    cover = read_mail(out / COVER).message_id if (out / COVER).is_file() else ""
    return ThreadPick(
        revision=mails[0].revision,
        total=max(total for _, total in positions),
        patches=tuple(
            PickedPatch(number, m.subject, m.message_id)
            for m, (number, _) in zip(mails, positions, strict=True)
        ),
        cover=cover,
        mbox=out / AM_MBOX,
    )


def b4_command() -> list[str]:
    """b4's command line, run by this Python (the b4 installed with the lab), offline."""
    return [
        sys.executable,
        "-m",
        "b4.command",
        "--offline-mode",
        "--no-interactive",
        "--no-stdin",
        "--config",
        "b4.attestation-policy=off",  # no DKIM or patatt checks: they would need the network
    ]


def b4_env() -> dict[str, str]:
    """No git or b4 settings of the user's or the system's, and b4's own files in the lab's
    cache."""
    home = paths.cache_dir("b4")
    return {
        **os.environ,
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "XDG_DATA_HOME": str(home / "data"),
    }


def store_pick(pick: ThreadPick, entry: Path) -> ThreadPick:
    """Keep b4's output and the pick in the cache entry (written whole: a temporary
    directory renamed into place); the pick, pointing there."""
    tmp = entry.with_name(f".{entry.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        shutil.copytree(pick.mbox.parent, tmp)
        record = {**pick.metadata(), "mbox": AM_MBOX, "mbox_sha256": sha256(pick.mbox)}
        (tmp / PICK_FILE).write_text(json.dumps(record, indent=2) + "\n")
        shutil.rmtree(entry, ignore_errors=True)
        tmp.rename(entry)
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        if cached_pick(entry) is None:  # else another lab process stored it first
            raise InfraError(f"cannot keep b4's output in {entry}: {e}") from e
    stored = cached_pick(entry)
    if stored is None:
        raise InfraError(f"cannot keep b4's output in {entry}")
    return stored


def cached_pick(entry: Path) -> ThreadPick | None:
    """The pick kept in a cache entry; None when there is none, or it is damaged (its mbox
    is not the one b4 wrote)."""
    try:
        data = json.loads((entry / PICK_FILE).read_text())
        if data.pop("mbox_sha256") != sha256(entry / AM_MBOX):
            return None
        del data["message_ids"]
        return ThreadPick(
            **{
                **data,
                "patches": tuple(PickedPatch(**p) for p in data["patches"]),
                "skipped": tuple(data["skipped"]),
                "mbox": entry / AM_MBOX,
            }
        )
    except (OSError, ValueError, TypeError, KeyError):
        return None


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
