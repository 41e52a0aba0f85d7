"""Links from a report page to the logs of its run: relative paths inside the run directory,
only to files that are there."""

from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import quote

from lab.history.model import CellInfo, ResultRow


@dataclass(frozen=True)
class LogLink:
    """A log to link to: what it is and its href relative to the run directory."""

    label: str
    href: str


def relative_link(run_dir: Path, label: str, path: str) -> LogLink | None:
    """A link to `path` (relative to the run directory) if it is a file inside it."""
    if not path or PurePosixPath(path).is_absolute() or ".." in PurePosixPath(path).parts:
        return None
    if not (run_dir / path).is_file():
        return None
    return LogLink(label, quote(path))


def log_links(run_dir: Path, cell: CellInfo, row: ResultRow | None = None) -> tuple[LogLink, ...]:
    """The console and kernel logs of a result row (of the boot that ran it), else of its
    cell."""
    console = (row.console_log if row else "") or cell.console_log
    kernel = (row.kernel_log if row else "") or cell.kernel_log
    links = (
        relative_link(run_dir, "console log", console),
        relative_link(run_dir, "kernel log", kernel),
    )
    return tuple(link for link in links if link is not None)
