"""Two real nights of a small matrix: the first passes; in the second a known-bad patch
(patches/selftest/remap-drops-mlock) is tried in the cell, which the history then reports as
a regression naming the last good night, and the report page shows in a browser."""

import json
from pathlib import Path

import pytest

from lab.history.store import HistoryStore
from lab.nightly.command import NightlyJob, nightly
from lab.nightly.driver import NightlyOptions
from lab.nightly.upkeep import nights
from lab.report.browser import dump_dom, find_chromium, regression_rows, screenshot
from lab.runtime.local import LocalRuntime

pytestmark = pytest.mark.integration
BAD_PATCH = "patches/selftest/remap-drops-mlock"
BROKEN = "nonlinear/nonlinear/mlocked_window_tmpfs"


def matrix(path: Path, arch: str, series: str = "") -> Path:
    text = (
        f'name = "pair"\n[[kernels]]\nsource = "debian-6.1"\narches = ["{arch}"]\n'
        'suites = ["nonlinear"]\npressure = ["none"]\n'
    )
    if series:
        text += (
            f'[[cells]]\nkernel = "debian-6.1"\narch = "{arch}"\npressure = "none"\n'
            f'series = "{series}"\n'
        )
    path.write_text(text)
    return path


def test_a_bad_patch_in_a_cell_is_a_regression_of_that_cell(arch, tmp_path, knobs):
    history = tmp_path / "history.sqlite"
    options = NightlyOptions(results_root=tmp_path / "results", seed=knobs.seed)
    first = nightly(
        NightlyJob(matrix(tmp_path / "m1.toml", arch.name), options, LocalRuntime(), history)
    )
    second = nightly(
        NightlyJob(
            matrix(tmp_path / "m2.toml", arch.name, BAD_PATCH), options, LocalRuntime(), history
        )
    )
    assert (first, second) == (0, 1)

    night1, night2 = nights(tmp_path / "results")
    with HistoryStore(history) as db:
        runs = db.case_history(BROKEN, cell=f"debian-6.1/{arch.name}/none")
    assert [(r.run.run_id, r.state) for r in runs] == [(night1.name, "pass"), (night2.name, "fail")]
    patched = runs[1].cell.identity
    assert patched.series.endswith(BAD_PATCH) and patched.patches_hash
    assert runs[0].cell.identity.patches_hash != patched.patches_hash
    assert len(runs[1].attempts) == 2  # the failing suite was run again: consistent

    summary = (night2 / "summary.md").read_text()
    assert "regression" in summary.lower() and BROKEN in summary and night1.name in summary
    assert json.loads((night2 / "nightly.json").read_text())["cells"] == [
        f"debian-6.1/{arch.name}/none"
    ]
    if find_chromium() is None:
        pytest.skip("chromium is not installed (Debian package chromium; `make deps`)")
    page = night2 / "report.html"
    assert BROKEN in regression_rows(dump_dom(page))
    assert screenshot(page, tmp_path / "night2.png").stat().st_size > 50_000
