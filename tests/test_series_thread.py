"""A series from a mailing-list thread: the real thread mbox of patches/examples, real b4
(offline) and real git am on Linux 6.1's mm/msync.c."""

import hashlib
import json
import re
import shutil
from pathlib import Path

import pytest

from lab import paths
from lab.errors import UsageError
from lab.kernel.gitrepo import commit_all, git, init_repo
from lab.kernel.mails import is_thread, read_mails
from lab.kernel.series import apply_series, load_series

DATA = Path(__file__).parent / "data" / "series"
EXAMPLES = paths.PROJECT_ROOT / "patches" / "examples"
THREAD = EXAMPLES / "msync-comments-thread.mbox"
SEPARATOR = "From mboxrd@z Thu Jan  1 00:00:00 1970\n"
V2_IDS = [f"20261207090000.{n}-dev@example.org" for n in range(4)]
RITA = "Reviewed-by: Rita Reviewer <rita@example.org>"
MARK = "Acked-by: Mark Maintainer <mark@example.org>"
TESS = "Tested-by: Tess Tester <tess@example.org>"
PAUL = "Reviewed-by: Paul Passerby <paul@example.org>"


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch) -> Path:
    """A fresh lab cache: b4's picks are made anew by each test."""
    monkeypatch.setenv("FAULTLAB_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A scratch git tree holding the real mm/msync.c."""
    shutil.copytree(DATA / "tree", tmp_path / "tree")
    init_repo(tmp_path / "tree")
    commit_all(tmp_path / "tree", "base")
    return tmp_path / "tree"


def mails_of(thread: Path) -> list[str]:
    """The thread's mails as text, without their 'From ' lines."""
    return thread.read_text().split(SEPARATOR)[1:]


def write_thread(path: Path, mails: list[str]) -> Path:
    path.write_text("".join(SEPARATOR + mail for mail in mails))
    return path


def subject(mail: str) -> str:
    return re.search(r"^Subject: (.*)$", mail, re.MULTILINE)[1]


def with_v3(tmp_path: Path, numbers: tuple[int, ...]) -> Path:
    """The thread and a v3 of the v2 patches `numbers` (and its cover letter)."""
    v3 = [
        mail.replace("[PATCH v2", "[PATCH v3")
        .replace("20261207090000.", "20261210090000.")
        .replace("7 Dec 2026", "10 Dec 2026")
        for mail in mails_of(THREAD)
        if (found := re.match(r"\[PATCH v2 (\d)/3\]", subject(mail)))
        and int(found[1]) in (0, *numbers)
    ]
    return write_thread(tmp_path / "v3.mbox", mails_of(THREAD) + v3)


def applied(tree: Path, base: str) -> list[str]:
    """Each applied commit's message, oldest first."""
    return git(tree, "log", "--reverse", "--format=%B%x00", f"{base}..HEAD").split("\0")[:-1]


def test_a_thread_is_told_from_a_plain_series():
    assert is_thread(read_mails(THREAD))
    for plain in (EXAMPLES / "msync-comments.mbox", DATA / "bad.mbox"):
        assert not is_thread(read_mails(plain))
        series = load_series(plain)
        assert (series.mbox, series.thread) == (plain, None)
        assert series.digest == hashlib.sha256(plain.read_bytes()).hexdigest()  # as before


def test_b4_takes_the_newest_revision_with_its_trailers(tree, capsys):
    base = git(tree, "rev-parse", "HEAD")
    series = load_series(THREAD)
    pick = series.thread
    assert (pick.revision, pick.total, pick.skipped) == (2, 3, ())
    assert pick.message_ids == V2_IDS
    assert pick.cover == V2_IDS[0]
    assert series.names == [
        "[PATCH v2 1/3] mm/msync: add a comment at the syscall entry",
        "[PATCH v2 2/3] mm/msync: comment the flags check",
        "[PATCH v2 3/3] mm/msync: comment the unlock on the way out",
    ]
    assert f"msync-comments-thread.mbox: b4 took v2 (3 patches, cover <{V2_IDS[0]}>)" in (
        capsys.readouterr().err
    )
    assert not is_thread(read_mails(series.mbox))  # b4's mbox is a plain series

    apply_series(tree, series)
    messages = applied(tree, base)
    assert [m.strip().splitlines()[0] for m in messages] == [
        "mm/msync: add a comment at the syscall entry",
        "mm/msync: comment the flags check",
        "mm/msync: comment the unlock on the way out",
    ]
    # Rita's tag on the cover letter goes to every patch; Mark acked v2's first patch and
    # v1's second, which v2 resends unchanged; Tess tested the third. Paul reviewed v1's
    # first patch, which v2 changed: his tag stays behind.
    assert all(RITA in m for m in messages)
    assert [MARK in m for m in messages] == [True, True, False]
    assert [TESS in m for m in messages] == [False, False, True]
    assert not any(PAUL in m for m in messages)
    assert git(tree, "log", "--format=%an <%ae>", f"{base}..HEAD").splitlines() == (
        ["A Developer <dev@example.org>"] * 3
    )
    text = (tree / "mm" / "msync.c").read_text()
    assert "faultlab example: first patch, v2: msync() writes back file mappings" in text
    assert "faultlab example: third patch, new in v2" in text


def test_the_digest_is_that_of_the_patches_as_applied(tmp_path):
    series = load_series(THREAD)
    assert series.digest == hashlib.sha256(series.mbox.read_bytes()).hexdigest()
    copy = shutil.copy(THREAD, tmp_path / "elsewhere.mbox")
    shutil.rmtree(paths.cache_dir("threads"))  # b4 again: the same bytes
    assert load_series(Path(copy)).digest == series.digest
    mails = mails_of(THREAD)
    remark = mails[-1].replace("r7-mark", "r8-mark").replace(MARK, "Nice.")
    assert load_series(write_thread(tmp_path / "remark.mbox", [*mails, remark])).digest == (
        series.digest
    )
    tested = "Tested-by: Mark Maintainer <mark@example.org>"
    tag = remark.replace("r8-mark", "r9-mark").replace("Nice.", tested)
    tagged = load_series(write_thread(tmp_path / "tagged.mbox", [*mails, tag]))
    assert tested in tagged.mbox.read_text()
    assert tagged.digest != series.digest
    assert load_series(with_v3(tmp_path, (1, 2, 3))).digest != series.digest


def test_a_pick_is_made_once_and_a_damaged_one_again(capsys):
    first = load_series(THREAD)
    entry = first.mbox.parent
    record = json.loads((entry / "pick.json").read_text())
    assert (record["revision"], record["message_ids"]) == (2, V2_IDS)
    stamp = (entry / "pick.json").stat().st_mtime_ns
    assert load_series(THREAD).mbox == first.mbox
    assert (entry / "pick.json").stat().st_mtime_ns == stamp  # from the cache
    first.mbox.write_text(first.mbox.read_text().replace(RITA, "Reviewed-by: Nobody"))
    again = load_series(THREAD)
    assert again.digest == hashlib.sha256(again.mbox.read_bytes()).hexdigest()
    assert "Nobody" not in again.mbox.read_text()


def test_an_incomplete_newest_revision_gives_way_to_the_newest_complete(tmp_path, tree, capsys):
    series = load_series(with_v3(tmp_path, (1, 3)))
    assert (series.thread.revision, series.thread.skipped) == (2, ("v3 lacks patch 2/3",))
    assert series.thread.message_ids == V2_IDS
    assert "v3.mbox: b4 took v2 (3 patches, cover" in capsys.readouterr().err
    assert "; v3 lacks patch 2/3" in series.thread.describe()
    base = git(tree, "rev-parse", "HEAD")
    apply_series(tree, series)
    assert len(applied(tree, base)) == 3


def test_a_thread_without_a_complete_revision_is_refused(tmp_path):
    mails = [
        m for m in mails_of(THREAD) if not subject(m).startswith(("[PATCH 2/2]", "[PATCH v2 3/3]"))
    ]
    thread = write_thread(tmp_path / "gaps.mbox", mails)
    with pytest.raises(UsageError) as error:
        load_series(thread)
    assert str(error.value) == (
        f"{thread}: no revision of the series is complete: v2 lacks patch 3/3; v1 lacks patch 2/2"
    )


def test_a_thread_of_replies_only_is_refused(tmp_path):
    replies = [m for m in mails_of(THREAD) if subject(m).startswith("Re:")]
    thread = write_thread(tmp_path / "talk.mbox", replies)
    with pytest.raises(UsageError, match=r"talk.mbox: b4 found no patch in this thread"):
        load_series(thread)
