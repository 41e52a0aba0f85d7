"""Progress lines for long steps, on stderr so that stdout stays for results."""

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager


def note(message: str) -> None:
    """Print one progress line."""
    print(f"==> {message}", file=sys.stderr, flush=True)


@contextmanager
def step(message: str) -> Iterator[None]:
    """Announce a step, then report its duration or its failure."""
    note(f"{message} ...")
    start = time.monotonic()
    try:
        yield
    except BaseException:
        note(f"{message}: failed after {time.monotonic() - start:.1f}s")
        raise
    note(f"{message}: done in {time.monotonic() - start:.1f}s")
