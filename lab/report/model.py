"""Everything a run's report shows, gathered once for the page, the Markdown summary and the
terminal."""

from dataclasses import dataclass
from datetime import datetime

from lab.exitcodes import ExitStatus
from lab.history.compare import CrossArchTable
from lab.history.model import RunInfo, RunRecord
from lab.report.failures import Failure, InfraGroup
from lab.report.links import LogLink
from lab.report.matrix import MatrixTable
from lab.report.status import report_exit_status
from lab.report.trends import Trend
from lab.report.verdicts import CaseVerdict, of_kind


@dataclass(frozen=True)
class Plot:
    """A case's trend as an embedded PNG, and why it is plotted."""

    trend: Trend
    why: str
    uri: str  # data:image/png;base64,...


@dataclass(frozen=True)
class RunReport:
    """One run as the report shows it; verdicts are regressions first."""

    record: RunRecord
    verdicts: tuple[CaseVerdict, ...]
    matrix: MatrixTable
    cross_arch: CrossArchTable
    failures: tuple[Failure, ...]
    infra: tuple[InfraGroup, ...]
    plots: tuple[Plot, ...]
    last: int  # runs of a cell the plots cover
    cell_logs: dict[str, tuple[LogLink, ...]]  # per cell key: its console and kernel log

    @property
    def run(self) -> RunInfo:
        return self.record.run

    @property
    def regressions(self) -> tuple[CaseVerdict, ...]:
        return of_kind(self.verdicts, "regression")

    @property
    def fixes(self) -> tuple[CaseVerdict, ...]:
        return of_kind(self.verdicts, "fix")

    @property
    def flaky(self) -> tuple[CaseVerdict, ...]:
        return of_kind(self.verdicts, "flaky")

    @property
    def exit_status(self) -> ExitStatus:
        return report_exit_status(self.verdicts)

    @property
    def duration_s(self) -> float:
        started = datetime.fromisoformat(self.run.started)
        return (datetime.fromisoformat(self.run.finished) - started).total_seconds()
