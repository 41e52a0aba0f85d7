"""The `local` runtime: jobs run in this process, one after the other per caller thread;
as many nightly cells at once as cores and memory allow."""

import os
from pathlib import Path
from typing import Any

from lab.errors import InfraError
from lab.run.jobs import Job

GUEST_VCPUS = 2
GUEST_HOST_MEMORY_MB = 2048  # guest RAM (the heavy profile's) plus QEMU's own


class LocalRuntime:
    """Jobs run here."""

    name = "local"

    def run(self, job: Job, workdir: Path | None = None) -> dict[str, Any]:
        if workdir is not None:
            workdir.mkdir(parents=True, exist_ok=True)
        return job.execute(workdir, None)

    def run_many(self, jobs: list[Job], workdirs: list[Path]) -> list[dict[str, Any] | InfraError]:
        results: list[dict[str, Any] | InfraError] = []
        for job, workdir in zip(jobs, workdirs, strict=True):
            try:
                results.append(self.run(job, workdir))
            except InfraError as e:
                results.append(e)
        return results

    def publish(self, build_dir: Path) -> None:
        """Builds made here are already where local jobs look."""

    def slots(self, jobs: int) -> int:
        """A guest per GUEST_VCPUS cores, and per GUEST_HOST_MEMORY_MB available."""
        cores = os.cpu_count() or 1
        try:
            pages = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
            memory_slots = pages // (GUEST_HOST_MEMORY_MB << 20)
        except (ValueError, OSError):
            memory_slots = 1
        return max(1, min(cores // GUEST_VCPUS, memory_slots, jobs))
