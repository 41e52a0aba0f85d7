"""The `local` runtime: builds and attempts run in this process, as `lab nightly` always did."""

import os
from pathlib import Path

from lab.arch import get_arch
from lab.errors import LabError
from lab.job import ArchRun, run_arch
from lab.kernel.build import build_kernel
from lab.runtime.jobs import AttemptJob, BuildJob

GUEST_VCPUS = 2
GUEST_HOST_MEMORY_MB = 2048  # guest RAM (the heavy profile's) plus QEMU's own


class LocalRuntime:
    """Jobs run here; as many attempts at once as cores and memory allow."""

    name = "local"

    def build(self, job: BuildJob) -> str | LabError:
        try:
            return build_kernel(job.spec.request(flavour=job.flavour)).id
        except LabError as e:  # a patch that does not apply is a build failure of its cells
            return e

    def run_attempt(self, job: AttemptJob, attempt_dir: Path) -> ArchRun:
        return run_arch(job.request(attempt_dir.parent), get_arch(job.cell.arch), attempt_dir)

    def slots(self, cells: int) -> int:
        """A guest per GUEST_VCPUS cores, and per GUEST_HOST_MEMORY_MB available."""
        cores = os.cpu_count() or 1
        try:
            pages = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
            memory_slots = pages // (GUEST_HOST_MEMORY_MB << 20)
        except (ValueError, OSError):
            memory_slots = 1
        return max(1, min(cores // GUEST_VCPUS, memory_slots, cells))
