"""The nightly's lock, retention and disk usage."""

import pytest

from lab.errors import UsageError
from lab.nightly.upkeep import disk_usage, human, nightly_lock, nights, prune_nights


def test_a_second_night_is_refused_while_one_holds_the_lock(tmp_path):
    lock = tmp_path / "nightly.lock"
    with nightly_lock(lock):
        assert "pid" in lock.read_text()
        refused = pytest.raises(UsageError, match=r"a nightly is already running \(pid \d+; ")
        with refused, nightly_lock(lock):
            pass
    with nightly_lock(lock):  # released: the next night gets it
        pass


def test_pruning_keeps_the_newest_nights_and_leaves_plain_runs(tmp_path):
    for name in ("20261120-010000", "20261121-010000", "20261122-010000"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "nightly.json").write_text("{}")
    (tmp_path / "20261119-120000").mkdir()  # a `lab run`, not a night
    deleted = prune_nights(tmp_path, keep=2)
    assert [p.name for p in deleted] == ["20261120-010000"]
    assert [p.name for p in nights(tmp_path)] == ["20261121-010000", "20261122-010000"]
    assert (tmp_path / "20261119-120000").is_dir()
    with pytest.raises(UsageError, match="--keep must be at least 1"):
        prune_nights(tmp_path, keep=0)


def test_disk_usage_counts_results_builds_and_history(tmp_path, monkeypatch):
    monkeypatch.setenv("FAULTLAB_CACHE", str(tmp_path / "cache"))
    (tmp_path / "cache" / "builds" / "0123").mkdir(parents=True)
    (tmp_path / "cache" / "builds" / "0123" / "vmlinux").write_bytes(b"k" * 300_000)
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "log").write_bytes(b"x" * 100_000)
    history = tmp_path / "h.sqlite"
    history.write_bytes(b"y" * 5000)
    usage = disk_usage(tmp_path / "r", history)
    assert usage.results >= 100_000 and usage.builds >= 300_000 and usage.history == 5000
    assert usage.free > 0
    assert usage.describe().startswith("disk: results ")


@pytest.mark.parametrize(
    ("size", "text"), [(0, "0 B"), (1536, "1.5 KiB"), (5 << 20, "5.0 MiB"), (3 << 30, "3.0 GiB")]
)
def test_human_sizes(size, text):
    assert human(size) == text
