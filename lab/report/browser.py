"""A report page as a browser shows it: headless Chromium (Debian's `chromium`) takes a
screenshot of it or dumps its DOM after loading."""

import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

from lab.errors import InfraError
from lab.scratch import scratch_dir

BROWSERS = ("chromium", "chromium-browser")
WINDOW = (1280, 2000)
TIMEOUT_S = 120.0


def find_chromium() -> str | None:
    """The Chromium program on PATH, if any."""
    return next((path for name in BROWSERS if (path := shutil.which(name))), None)


def headless(page: Path, *options: str, timeout_s: float = TIMEOUT_S) -> str:
    """Load `page` in headless Chromium with `options` (in a throwaway profile); its
    standard output."""
    program = find_chromium()
    if program is None:
        raise InfraError(
            "chromium is not installed (Debian package chromium, in debian-packages.txt)"
        )
    with scratch_dir("chromium") as profile:
        argv = [
            program,
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            f"--user-data-dir={profile}",
            *options,
            page.resolve().as_uri(),
        ]
        try:
            done = subprocess.run(
                argv,
                capture_output=True,
                text=True,
                errors="replace",
                timeout=timeout_s,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired as e:
            raise InfraError(f"chromium did not finish with {page} in {timeout_s:.0f} s") from e
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-10:])
        raise InfraError(f"chromium exited with {done.returncode} on {page}:\n{tail}")
    return done.stdout


def screenshot(page: Path, png: Path, window: tuple[int, int] = WINDOW) -> Path:
    """A PNG of the page's top `window` (width, height) pixels."""
    png.unlink(missing_ok=True)
    headless(page, f"--screenshot={png.resolve()}", f"--window-size={window[0]},{window[1]}")
    if not png.is_file():
        raise InfraError(f"chromium wrote no screenshot of {page} to {png}")
    return png


def dump_dom(page: Path) -> str:
    """The page's DOM as HTML, as the browser built it."""
    return headless(page, "--dump-dom")


class _RegressionRows(HTMLParser):
    """The data-case of every <tr class="regression"> of a page."""

    def __init__(self, page: str):
        super().__init__()
        self.cases: list[str] = []
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "tr" and "regression" in (attrs.get("class") or "").split():
            self.cases.append(attrs.get("data-case", ""))


def regression_rows(dom: str) -> list[str]:
    """The cases of a rendered report's regression rows, in page order."""
    return _RegressionRows(dom).cases
