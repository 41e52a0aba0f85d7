"""Patch series: a quilt folder (a `series` file) or an mbox, applied one commit per patch.

An mbox is a plain series (`git format-patch` output, applied as it is) or a mailing-list
thread, whose newest complete revision b4 makes ready to apply, with the replies' trailers
(lab.kernel.thread). Patches are applied in the lab's scratch build tree only; the source
cache stays pristine. A patch that does not apply raises PatchError naming the patch, the
file and the hunk.
"""

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from lab import proc
from lab.errors import PatchError, UsageError
from lab.kernel.gitrepo import git, run_git
from lab.kernel.mails import is_thread, read_mails
from lab.kernel.thread import ThreadPick, pick_revision


@dataclass(frozen=True)
class Patch:
    """One patch of a quilt series."""

    name: str
    path: Path
    strip: int = 1


@dataclass(frozen=True)
class Series:
    """A patch series: either quilt patches or a single mbox (for a thread: b4's mbox of
    the revision it took)."""

    path: Path
    patches: tuple[Patch, ...] = ()
    mbox: Path | None = None
    thread: ThreadPick | None = None

    @property
    def digest(self) -> str:
        """Hash of the patch contents, in order (part of a build's identity); for a thread,
        of the patches as applied: the revision taken, with its trailers."""
        h = hashlib.sha256()
        files = [self.mbox] if self.mbox else [p.path for p in self.patches]
        for f in files:
            h.update(f.read_bytes())
        return h.hexdigest()

    @property
    def names(self) -> list[str]:
        """Patch names for reports (for an mbox: the file name; a thread: the subjects of
        the patches taken)."""
        if self.thread:
            return [p.subject for p in self.thread.patches]
        return [self.mbox.name] if self.mbox else [p.name for p in self.patches]


def load_series(path: Path) -> Series:
    """Read a quilt series folder or an mbox file."""
    path = path.expanduser().resolve()
    if path.is_dir():
        series_file = path / "series"
        if not series_file.exists():
            raise UsageError(f"{path}: a series folder needs a 'series' file")
        return Series(path, parse_series_file(series_file))
    if path.is_file():
        if not is_mbox(path):
            raise UsageError(f"{path}: neither a series folder nor an mbox (no 'From ' line)")
        if is_thread(read_mails(path)):
            pick = pick_revision(path)
            return Series(path, mbox=pick.mbox, thread=pick)
        return Series(path, mbox=path)
    raise UsageError(f"patch series {path} not found")


def parse_series_file(series_file: Path) -> tuple[Patch, ...]:
    """Parse quilt's series format: one patch per line, '#' comments, optional -pN."""
    patches = []
    for lineno, raw in enumerate(series_file.read_text().splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        name, *opts = line.split()
        strip = 1
        for opt in opts:
            if not re.fullmatch(r"-p\d+", opt):
                raise UsageError(f"{series_file}:{lineno}: unsupported option {opt!r}")
            strip = int(opt[2:])
        patch_path = series_file.parent / name
        if not patch_path.is_file():
            raise UsageError(f"{series_file}:{lineno}: patch {name} not found")
        patches.append(Patch(name, patch_path, strip))
    return tuple(patches)


def is_mbox(path: Path) -> bool:
    """True if the file starts like an mbox ('From ' line)."""
    with open(path, "rb") as f:
        return f.read(5) == b"From "


def apply_series(tree: Path, series: Series) -> None:
    """Apply the series on the checked-out tree, one commit per patch."""
    if series.mbox:
        _apply_mbox(tree, series.mbox)
        return
    for patch in series.patches:
        result = run_git(tree, "apply", "--index", f"-p{patch.strip}", str(patch.path))
        if result.returncode != 0:
            raise PatchError(
                _describe_failure(tree, patch.name, patch.path, patch.strip, result.stdout)
            )
        if run_git(tree, "diff", "--cached", "--quiet").returncode == 0:
            raise PatchError(f"patch {patch.name} changes nothing (empty or already applied)")
        git(tree, "commit", "-q", "--no-verify", "-m", _subject(patch.path) or patch.name)


def _apply_mbox(tree: Path, mbox: Path) -> None:
    result = run_git(tree, "am", "-q", str(mbox))
    if result.returncode == 0:
        return
    failing = re.search(r"Patch failed at (\d+) (.*)", result.stdout)
    name = f"{mbox.name} patch {failing.group(1)} ({failing.group(2)})" if failing else mbox.name
    rebase_patch = tree / ".git" / "rebase-apply" / "patch"
    detail = (
        _describe_failure(tree, name, rebase_patch, 1, result.stdout)
        if rebase_patch.exists()
        else f"patch {name} does not apply:\n{result.stdout}"
    )
    run_git(tree, "am", "--abort")
    raise PatchError(detail)


def _describe_failure(tree: Path, name: str, patch_path: Path, strip: int, git_output: str) -> str:
    """Name the files and hunks that fail, from GNU patch's dry run."""
    dry = proc.run(
        ["patch", f"-p{strip}", "--dry-run", "-f", "-i", str(patch_path)], cwd=tree, check=False
    ).stdout
    failures = hunk_failures(dry)
    lines = [f"patch {name} does not apply:"]
    lines += [f"  {f}" for f in failures] or [f"  {line}" for line in git_output.splitlines()]
    return "\n".join(lines)


def hunk_failures(patch_output: str) -> list[str]:
    """From `patch --dry-run` output, one 'FILE: hunk #N FAILED at LINE' per failed hunk."""
    current = "?"
    failures = []
    for line in patch_output.splitlines():
        if m := re.match(r"(?:checking|patching) file (.+)", line):
            current = m.group(1).strip()
        elif m := re.match(r"Hunk #(\d+) FAILED at (\d+)", line):
            failures.append(f"{current}: hunk #{m.group(1)} FAILED at line {m.group(2)}")
        elif m := re.match(r"can't find file to patch", line):
            failures.append(f"{current}: file to patch not found")
    return failures


def _subject(patch: Path) -> str | None:
    """The Subject: header of a patch with mail headers, without a [PATCH] prefix."""
    for line in patch.read_text(errors="replace").splitlines()[:40]:
        if line.startswith("Subject:"):
            return re.sub(r"^\[[^\]]*\]\s*", "", line[8:].strip())
    return None
