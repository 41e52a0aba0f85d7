"""The Markdown summary of a run's report (summary.md): the verdict, regressions, fixes,
flaky cases and the count of each state per cell."""

from collections.abc import Sequence

from lab.report import text
from lab.report.matrix import SEVERITY
from lab.report.model import RunReport
from lab.report.verdicts import CaseVerdict


def cell_text(value: str) -> str:
    """A value fit for one cell of a Markdown table: one line, pipes escaped."""
    return " ".join(value.split()).replace("|", "\\|") or "-"


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(cell_text(v) for v in row) + " |" for row in rows]


def verdict_section(title: str, verdicts: Sequence[CaseVerdict], empty: str) -> list[str]:
    lines = [f"## {title} ({len(verdicts)})", ""]
    if not verdicts:
        return [*lines, empty, ""]
    rows = [(v.test, v.cell.key, v.state, v.message) for v in verdicts]
    return [*lines, *table(("case", "cell", "state", "message"), rows), ""]


def summary_markdown(report: RunReport) -> str:
    """The summary of the run, as summary.md holds it."""
    run = report.run
    regressions = report.regressions
    verdict = f"yes, {len(regressions)}" if regressions else "no"
    lines = [
        f"# faultlab run {run.run_id}",
        "",
        f"- date: {text.when(run.started)}",
        f"- host: {run.host or '-'}",
        f"- duration: {text.duration(report.duration_s)}"
        + ("" if run.complete else " (incomplete)"),
        f"- matrix: {run.matrix or '-'} ({run.kind})",
        f"- new regressions: {verdict} (exit status {report.exit_status})",
        "",
        f"## Regressions ({len(regressions)})",
        "",
    ]
    if regressions:
        lines += table(
            ("case", "cell", "message", "last good run", "kernels since"),
            [
                (v.test, v.cell.key, v.message, text.last_good(v), text.kernels_since(v))
                for v in regressions
            ],
        )
    else:
        lines.append("No case failed after passing.")
    lines.append("")
    lines += verdict_section("Fixes", report.fixes, "No case passed after failing.")
    lines += verdict_section("Flaky", report.flaky, "No case is flaky.")
    lines += ["## Matrix", ""]
    lines += table(
        ("cell", *SEVERITY),
        [
            (row.cell.key, *(str(row.total.count(s)) for s in SEVERITY))
            for row in report.matrix.rows
        ],
    )
    return "\n".join(lines) + "\n"
