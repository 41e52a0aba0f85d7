"""The exit status of `lab report`, which the nightly driver returns as well: whether the run
has new regressions (a case that failed after passing, see lab.history.classify)."""

from collections.abc import Iterable

from lab.exitcodes import ExitStatus
from lab.report.verdicts import CaseVerdict


def report_exit_status(verdicts: Iterable[CaseVerdict]) -> ExitStatus:
    """FAILED (1) when any case of the run regressed, else OK (failures that are not new,
    flaky cases and infra results do not count)."""
    regressed = any(v.kind == "regression" for v in verdicts)
    return ExitStatus.FAILED if regressed else ExitStatus.OK
