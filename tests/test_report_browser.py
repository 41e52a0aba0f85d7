"""The report page in a real browser: headless Chromium loads the report of a run in which a
case regressed, its DOM holds the regression's row and its screenshot shows the row's colour."""

import matplotlib.image
import numpy as np
import pytest
from matplotlib.colors import to_rgb

from lab.history.ingest import ingest_run_dir
from lab.history.store import HistoryStore
from lab.report.browser import dump_dom, find_chromium, regression_rows, screenshot
from lab.report.collect import collect_report
from lab.report.colours import REGRESSION_ROW_COLOUR
from lab.report.write import write_report

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        find_chromium() is None,
        reason="chromium is not installed (Debian "
        "package chromium, in debian-packages.txt; `make deps` installs it)",
    ),
]


def test_the_browser_shows_the_regression_row(regressed_runs, tmp_path):
    first, second = regressed_runs
    with HistoryStore(tmp_path / "history.sqlite") as db:
        ingest_run_dir(db, first)
        report = collect_report(db, ingest_run_dir(db, second), second)
    page = write_report(report, second).html

    assert regression_rows(dump_dom(page)) == ["fault/fault/kernel", "fault/fault/kernel"]

    png = screenshot(page, tmp_path / "report.png")
    assert png.parent == tmp_path
    assert png.stat().st_size > 50_000
    image = matplotlib.image.imread(png)
    assert image.shape[:2] == (2000, 1280)
    target = np.array(to_rgb(REGRESSION_ROW_COLOUR))
    matches = np.all(np.abs(image[..., :3] - target) < 1.5 / 255, axis=-1)
    assert matches.sum() > 20_000  # rows of the regression table and of its failure
    rows = np.flatnonzero(matches.any(axis=1))
    assert rows.min() < 600  # the regressions come first
