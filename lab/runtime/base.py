"""What a runtime does for the nightly scheduler: the same jobs, run somewhere."""

from pathlib import Path
from typing import Protocol

from lab.errors import LabError
from lab.job import ArchRun
from lab.runtime.jobs import AttemptJob, BuildJob


class Runtime(Protocol):
    """Runs the nightly's jobs and hands back their results."""

    name: str

    def build(self, job: BuildJob) -> str | LabError:
        """The build id, or why the kernel did not build."""

    def run_attempt(self, job: AttemptJob, attempt_dir: Path) -> ArchRun:
        """Run the attempt; its files end up in `attempt_dir`."""

    def slots(self, cells: int) -> int:
        """How many of `cells` cells to have in flight at once."""
