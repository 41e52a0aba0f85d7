"""The classification policy, table by table: every class, infra and skip passed over,
flakiness by flips and by attempts, and the bisect range of a regression."""

import pytest

from lab.history.classify import Outcome, classify, classify_rerun, describe
from lab.history.model import KernelIdentity

STATES = {"p": "pass", "f": "fail", "s": "skip", "i": "infra"}
KERNEL = KernelIdentity("debian-6.1", release="6.1.192+", build_id="5888a2b7ffedc4ab")


def outcomes(history: str, kernels: list[KernelIdentity] | None = None) -> list[Outcome]:
    """'p p f' -> three runs; 'pf' is one run whose two attempts passed and failed."""
    runs = history.split()
    kernels = kernels or [KERNEL] * len(runs)
    return [
        Outcome(f"r{n}", tuple(STATES[c] for c in run), kernel)
        for n, (run, kernel) in enumerate(zip(runs, kernels, strict=True), 1)
    ]


@pytest.mark.parametrize(
    ("history", "kind"),
    [
        ("p", "new"),
        ("f", "new-failure"),
        ("i s f", "new-failure"),
        ("s p", "new"),
        ("p p p p", "stable"),
        ("f p p", "stable"),
        ("p p p f", "regression"),
        ("p f", "regression"),
        ("p i s i f", "regression"),
        ("f f f f p p p p p f", "regression"),
        ("f f f p", "fix"),
        ("f i f s f p", "fix"),
        ("p f f", "still-failing"),
        ("p p f f f f f f f f", "still-failing"),
        ("p p i", "untested"),
        ("f f s", "untested"),
        ("i", "untested"),
        ("p f p", "flaky"),
        ("p p p f p p f", "flaky"),
        ("f p i p f", "flaky"),
        ("p p pf", "flaky"),
        ("p pf p p", "flaky"),
        ("pi p", "stable"),
        ("p fi", "regression"),
        ("p f p p p p p p p", "stable"),
    ],
)
def test_classification_of_the_newest_outcome(history, kind):
    assert classify(outcomes(history)).kind == kind


@pytest.mark.parametrize(
    ("history", "depth", "window", "kind"),
    [
        ("f p f", 3, 6, "flaky"),
        ("f p f", 1, 2, "regression"),
        ("p f p p p f", 3, 6, "flaky"),
        ("p f p p p f", 3, 2, "regression"),
        ("f f p f", 1, 2, "regression"),
        ("f f p f", 3, 2, "flaky"),
    ],
)
def test_depth_and_window_are_parameters(history, depth, window, kind):
    assert classify(outcomes(history), depth=depth, window=window).kind == kind


def test_a_regression_names_the_last_good_run_and_the_kernels_to_bisect():
    good = KernelIdentity("debian-6.1", config_hash="c1", build_id="aaaa", release="6.1.190")
    next_ = KernelIdentity("debian-6.1", config_hash="c1", build_id="bbbb", release="6.1.191")
    bad = KernelIdentity("debian-6.1", config_hash="c1", build_id="cccc", release="6.1.192")
    verdict = classify(outcomes("p p i s f", [good, good, next_, next_, bad]))
    assert verdict.kind == "regression"
    assert verdict.last_good.run_id == "r2"
    assert [o.run_id for o in verdict.since_good] == ["r3", "r4", "r5"]
    assert verdict.suspect_kernels == (next_, bad)
    assert describe(verdict) == (
        "regression: failed after passing (run r5); last good run r2: debian-6.1 6.1.190 aaaa; "
        "kernels since: debian-6.1 6.1.191 bbbb, debian-6.1 6.1.192 cccc"
    )


def test_a_regression_on_an_unchanged_kernel_says_so():
    verdict = classify(outcomes("p p f"))
    assert verdict.suspect_kernels == ()
    assert describe(verdict).endswith(
        "last good run r2: debian-6.1 6.1.192+ 5888a2b7ffedc4ab; the kernel has not changed since"
    )


def test_only_a_regression_has_a_bisect_range():
    for history in ("p p p", "f f p", "p f f", "p f p", "f"):
        verdict = classify(outcomes(history))
        assert (verdict.last_good, verdict.since_good, verdict.suspect_kernels) == (None, (), ())
        assert describe(verdict).endswith(f"(run {verdict.newest.run_id})")


@pytest.mark.parametrize(
    ("states", "kind"),
    [
        ("ff", "consistent"),
        ("fff", "consistent"),
        ("fp", "flaky"),
        ("fif", "consistent"),
        ("fsp", "flaky"),
        ("fi", "consistent"),
    ],
)
def test_a_failure_rerun_within_one_run(states, kind):
    assert classify_rerun([STATES[c] for c in states]) == kind


def test_nonsense_input_is_refused():
    with pytest.raises(ValueError, match="no outcomes"):
        classify([])
    with pytest.raises(ValueError, match="depth 0 must be at least 1"):
        classify(outcomes("p"), depth=0)
    with pytest.raises(ValueError, match="window 1"):
        classify(outcomes("p"), window=1)
    with pytest.raises(ValueError, match="at least one attempt"):
        Outcome("r1", (), KERNEL)
    with pytest.raises(ValueError, match="needs at least one attempt that passed or failed"):
        classify_rerun(["infra", "skip"])
