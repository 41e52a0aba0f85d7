"""Bisecting a patch series: candidate k is the source with patches 1..k applied.

Candidate 0 (no patch) is good and candidate n (the whole series) bad. Each candidate is a
truncated copy of the series in the bisect's directory, built through the lab's normal
series path, so its build is cached by content like any other. The search is a binary
search that, like git bisect, steps around candidates that had to be skipped: it tests the
untested candidate nearest to the middle of the range.
"""

import math
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from lab import proc
from lab.bisect.policy import Verdict
from lab.bisect.search import Candidate, Change, Conclusion
from lab.kernel.build import BuildRequest
from lab.kernel.series import Series
from lab.scratch import scratch_dir


def candidate_series(series: Series, k: int, root: Path) -> Path | None:
    """A series of the first k patches under `root` (None for k = 0: the bare source).

    A quilt series becomes a folder with its `series` file and copies of the k patches (so
    later edits of the original do not change a bisect); an mbox becomes an mbox of its
    first k mails (a thread: of the revision b4 took, with their trailers).
    """
    if k == 0:
        return None
    if series.mbox:
        target = root / f"{k:03d}.mbox"
        if not target.exists():
            mails = split_mbox(series.mbox, root / "mails")[:k]
            _write_atomically(target, b"".join(m.read_bytes() for m in mails))
        return target
    target = root / f"{k:03d}"
    if not (target / "series").exists():
        tmp = target.with_name(target.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        lines = []
        for patch in series.patches[:k]:
            (tmp / patch.name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(patch.path, tmp / patch.name)
            lines.append(patch.name if patch.strip == 1 else f"{patch.name} -p{patch.strip}")
        (tmp / "series").write_text("\n".join(lines) + "\n")
        shutil.rmtree(target, ignore_errors=True)
        tmp.rename(target)
    return target


def split_mbox(mbox: Path, folder: Path) -> list[Path]:
    """The mails of an mbox, one file each (git mailsplit), in order."""
    if not folder.is_dir():
        tmp = folder.with_name(folder.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        proc.run(["git", "mailsplit", f"-o{tmp}", str(mbox)])
        tmp.rename(folder)
    return sorted(folder.iterdir())


def series_length(series: Series) -> int:
    """How many patches a series holds (an mbox: how many mails; a thread: how many
    patches the revision b4 took has)."""
    if not series.mbox:
        return len(series.patches)
    with scratch_dir("mails") as folder:
        return len(split_mbox(series.mbox, Path(folder, "mails")))


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def patch_titles(series: Series, root: Path) -> list[str]:
    """Each patch's name (quilt) or subject (mbox), in order."""
    if not series.mbox:
        return [p.name for p in series.patches]
    return [
        mail_subject(m.read_text(errors="replace")) or m.name
        for m in split_mbox(series.mbox, root / "mails")
    ]


def mail_subject(text: str) -> str:
    """The Subject: of a mail (folded lines joined), without a [PATCH ...] prefix."""
    match = re.search(r"^Subject:(.*(?:\n[ \t].*)*)", text, re.MULTILINE)
    if not match:
        return ""
    subject = " ".join(match[1].split())
    return re.sub(r"^\[[^\]]*\]\s*", "", subject)


@dataclass
class SeriesSearch:
    """Binary search for the first bad k in 1..n, given 0 good and n bad."""

    count: int  # n, the number of patches
    marks: dict[int, Verdict] = field(default_factory=dict)

    def mark(self, key: str, verdict: Verdict) -> None:
        self.marks[int(key)] = verdict

    def bounds(self) -> tuple[int, int]:
        """The highest good k below the lowest bad k, and that bad k."""
        bad = min((k for k, v in self.marks.items() if v == "bad"), default=self.count)
        good = max((k for k, v in self.marks.items() if v == "good" and k < bad), default=0)
        return good, bad

    def next(self) -> Candidate | Conclusion:
        good, bad = self.bounds()
        untested = [k for k in range(good + 1, bad) if k not in self.marks]
        if not untested:
            skipped = [k for k in range(good + 1, bad) if self.marks.get(k) == "skip"]
            if not skipped:
                return Conclusion(str(bad))
            return Conclusion(None, tuple(str(k) for k in [*skipped, bad]))
        middle = (good + bad) / 2
        pick = min(untested, key=lambda k: (abs(k - middle), -k))
        return Candidate(str(pick), steps_left=math.ceil(math.log2(len(untested) + 1)) - 1)


@dataclass(frozen=True)
class SeriesPlan:
    """The candidates of a series bisect, as build requests."""

    base: BuildRequest  # the source, arch and config; its series is replaced
    series: Series
    root: Path  # where the truncated series go

    @property
    def good(self) -> str:
        return "0"

    @property
    def bad(self) -> str:
        return str(self.count())

    @property
    def titles(self) -> list[str]:
        return patch_titles(self.series, self.root)

    def search(self) -> SeriesSearch:
        return SeriesSearch(self.count())

    def count(self) -> int:
        return len(self.titles)

    def request(self, key: str) -> BuildRequest:
        return BuildRequest(
            arch=self.base.arch,
            source=self.base.source,
            series=candidate_series(self.series, int(key), self.root),
            flavour=self.base.flavour,
            fragments=self.base.fragments,
            jobs=self.base.jobs,
        )

    def label(self, key: str) -> str:
        k = int(key)
        if k == 0:
            return "no patch"
        return f"patches 1-{k} (last: {self.titles[k - 1]})"

    def parent(self, key: str) -> str:
        return str(int(key) - 1)

    def change(self, key: str) -> Change:
        k = int(key)
        patch = (
            split_mbox(self.series.mbox, self.root / "mails")[k - 1]
            if self.series.mbox
            else self.series.patches[k - 1].path
        )
        return patch_change(patch, self.titles[k - 1])

    def source_args(self, key: str) -> list[str]:
        series = candidate_series(self.series, int(key), self.root)
        return ["--source", self.base.source, *(["--series", str(series)] if series else [])]


def patch_change(patch: Path, name: str) -> Change:
    """A patch file's subject, author, date and diffstat (`git apply --stat`)."""
    text = patch.read_text(errors="replace")
    header = text.split("\n\n", 1)[0]
    author = re.search(r"^From: (.*)$", header, re.MULTILINE)
    date = re.search(r"^Date: (.*)$", header, re.MULTILINE)
    stat = proc.output(["git", "apply", "--stat", str(patch)])
    files = tuple(re.findall(r"^diff --git a/\S+ b/(\S+)$", text, re.MULTILINE))
    return Change(
        str(patch),
        mail_subject(header) or name,
        author[1] if author else "",
        date[1] if date else "",
        files,
        stat,
    )
