"""The exit status of `lab report`, which the nightly driver returns as well: whether the run
has new regressions (a case that failed after passing, see lab.history.classify)."""

from collections.abc import Iterable

from lab.report.verdicts import CaseVerdict

EXIT_NO_REGRESSIONS = 0
EXIT_REGRESSIONS = 1


def report_exit_status(verdicts: Iterable[CaseVerdict]) -> int:
    """1 when any case of the run regressed, else 0 (failures that are not new, flaky cases
    and infra results do not count)."""
    regressed = any(v.kind == "regression" for v in verdicts)
    return EXIT_REGRESSIONS if regressed else EXIT_NO_REGRESSIONS
