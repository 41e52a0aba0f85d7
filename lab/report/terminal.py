"""The short terminal summary `lab report` prints: the verdict, regressions, fixes and flaky
cases, the counts per cell and where the report's files are."""

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from lab.report import text
from lab.report.matrix import SEVERITY
from lab.report.model import RunReport
from lab.report.write import ReportFiles
from lab.terminal import STYLE


def summary_view(report: RunReport, files: ReportFiles) -> RenderableType:
    """What a person reads after `lab report`."""
    run = report.run
    parts: list[RenderableType] = [
        Text(
            f"faultlab run {run.run_id}: {text.when(run.started)} on {run.host or '-'}, "
            f"{text.duration(report.duration_s)}, matrix {run.matrix or '-'}"
        )
    ]
    regressions = report.regressions
    parts.append(
        Text(
            f"new regressions: {len(regressions)}" if regressions else "new regressions: none",
            style="bold red" if regressions else "green",
        )
    )
    for title, verdicts in (
        ("regression", regressions),
        ("fix", report.fixes),
        ("flaky", report.flaky),
    ):
        for v in verdicts:
            line = Text(f"  {title}: {v.test} in {v.cell.key}")
            if v.message:
                line.append(f": {v.message[:80]}")
            if title == "regression":
                line.append(f"; last good {text.last_good(v)}")
            parts.append(line)
    counts = Table(title="cases per cell")
    counts.add_column("cell")
    for state in SEVERITY:
        counts.add_column(state, justify="right")
    for row in report.matrix.rows:
        total = row.total
        counts.add_row(
            Text(row.cell.key),
            *(f"[{STYLE[s]}]{total.count(s)}[/]" if total.count(s) else "0" for s in SEVERITY),
        )
    parts += [
        counts,
        Text(
            f"report: {files.html} ({files.html.stat().st_size // 1024} KiB), "
            f"{files.markdown}, {files.junit}"
        ),
    ]
    return Group(*parts)
