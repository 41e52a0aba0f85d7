"""Writing a run's report into its results directory: report.html, summary.md and
report-junit.xml."""

from dataclasses import dataclass
from pathlib import Path

from lab import files
from lab.report.html import render_html
from lab.report.junit import write_run_junit
from lab.report.markdown import summary_markdown
from lab.report.model import RunReport

HTML, MARKDOWN, JUNIT = "report.html", "summary.md", "report-junit.xml"


@dataclass(frozen=True)
class ReportFiles:
    """The files of a written report."""

    html: Path
    markdown: Path
    junit: Path


def write_report(report: RunReport, run_dir: Path) -> ReportFiles:
    """Write (or rewrite) the report's files in `run_dir`."""
    written = ReportFiles(run_dir / HTML, run_dir / MARKDOWN, run_dir / JUNIT)
    files.write_text(written.html, render_html(report))
    files.write_text(written.markdown, summary_markdown(report))
    write_run_junit(report.record, written.junit)
    return written
