"""The bisect demonstration: patches/examples/bisect-demo as a series, or as a git history.

The history is a bare clone of the lab's cached source repository (sharing its objects)
with one commit per patch on top of the source's commit, made as `git am` makes them (the
mail's author, date and message) but without a work tree, so it takes seconds. Its commits
have fixed committer data: the same series always gives the same commit ids. For bisects
over more candidates, filler commits can follow each patch: each appends a comment line to
a file of mm/ that the patches leave alone, so it rebuilds one object and changes nothing.

patches/examples/bisect-demo-intermittent is the same series with patch 11's bug present on
three boots out of four only.
"""

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from lab import paths, proc
from lab.kernel.gitrepo import GIT_ENV, git
from lab.kernel.series import Patch, load_series
from lab.kernel.source import resolve_source
from lab.scratch import scratch_dir

DEMO_SERIES = paths.PROJECT_ROOT / "patches" / "examples" / "bisect-demo"
DEMO_INTERMITTENT_SERIES = DEMO_SERIES.with_name("bisect-demo-intermittent")
DEMO_TEST = "smoke/smoke/remap_file_pages"
DEMO_CULPRIT = 11  # breaks remap_file_pages (patches/examples/broken-remap's bug)
DEMO_UNBUILDABLE = 8  # drops a semicolon that patch 9 puts back
FILLER_FILES = ("mm/swap.c", "mm/vmscan.c", "mm/percpu.c")  # no demo patch touches them


@dataclass(frozen=True)
class DemoHistory:
    """The source's commit and the commits on it: one per patch of the series (and the
    filler commits after each)."""

    repo: Path
    base: str
    commits: tuple[str, ...]
    patch_commits: tuple[str, ...]

    @property
    def tip(self) -> str:
        return self.commits[-1]

    def patch_commit(self, number: int) -> str:
        """The commit of the series' patch `number` (1-based)."""
        return self.patch_commits[number - 1]


def make_demo_history(
    repo: Path, source: str = "debian-6.1", series: Path = DEMO_SERIES, fillers: int = 0
) -> DemoHistory:
    """The series as commits on the source, `fillers` filler commits after each patch, in
    the bare repository `repo` (made once); the branch bisect-demo[-<commits>] is its tip."""
    base = resolve_source(source)
    if not (repo / "HEAD").exists():
        tmp = repo.with_name(repo.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        proc.run(["git", "clone", "-q", "--bare", "--shared", str(base.repo), str(tmp)])
        tmp.rename(repo)
    commits, patch_commits = commit_series(repo, base.commit, load_series(series).patches, fillers)
    branch = f"bisect-demo-{len(commits)}" if fillers else "bisect-demo"
    git(repo, "update-ref", f"refs/heads/{branch}", commits[-1])
    return DemoHistory(repo, base.commit, tuple(commits), tuple(patch_commits))


def commit_series(
    repo: Path, base: str, patches: tuple[Patch, ...], fillers: int = 0
) -> tuple[list[str], list[str]]:
    """Commit mail-formatted patches one by one on `base` without a work tree (one index
    for the whole series), each followed by `fillers` filler commits; returns all commits
    and the patches' commits."""
    with scratch_dir("demo") as scratch:
        env = {**os.environ, **GIT_ENV, "GIT_INDEX_FILE": str(Path(scratch, "index"))}

        def run(*args: str, stdin: str | None = None, **extra: str) -> str:
            return proc.output(["git", "-C", str(repo), *args], env=env | extra, input=stdin)

        run("read-tree", base)
        commits, patch_commits = [base], []
        for patch in patches:
            run("apply", "--cached", f"-p{patch.strip}", str(patch.path))
            message, body = Path(scratch, "msg"), Path(scratch, "patch")
            info = run("mailinfo", str(message), str(body), stdin=patch.path.read_text())
            fields = dict(re.findall(r"^(\w+): (.*)$", info, re.MULTILINE))
            commits.append(
                run(
                    "commit-tree",
                    run("write-tree"),
                    "-p",
                    commits[-1],
                    stdin=f"{fields['Subject']}\n\n{message.read_text()}",
                    GIT_AUTHOR_NAME=fields["Author"],
                    GIT_AUTHOR_EMAIL=fields["Email"],
                    GIT_AUTHOR_DATE=fields["Date"],
                )
            )
            patch_commits.append(commits[-1])
            for _ in range(fillers):
                number = len(commits) - len(patch_commits)
                path = FILLER_FILES[number % len(FILLER_FILES)]
                text = run("show", f":{path}") + f"\n/* bisect demo filler {number} */\n"
                blob = run("hash-object", "-w", "--stdin", stdin=text)
                run("update-index", "--cacheinfo", f"100644,{blob},{path}")
                commits.append(
                    run(
                        "commit-tree",
                        run("write-tree"),
                        "-p",
                        commits[-1],
                        stdin=f"{path}: bisect demo filler {number}\n",
                    )
                )
        return commits[1:], patch_commits
