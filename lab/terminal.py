"""The rich Console the lab prints its tables on."""

import os
import sys

from rich.console import Console

LOG_WIDTH = 160  # when the output is a log file or a pipe, not a terminal
# How each result state is shown in tables.
STYLE = {"pass": "green", "fail": "bold red", "skip": "yellow", "infra": "magenta"}


def console() -> Console:
    """A Console as wide as the terminal; LOG_WIDTH columns (or $COLUMNS) when the output is
    not a terminal, so that tables in logs are not squeezed into 80 columns."""
    if sys.stdout.isatty():
        return Console()
    return Console(width=int(os.environ.get("COLUMNS") or LOG_WIDTH))
