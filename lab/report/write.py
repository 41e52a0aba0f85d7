"""Writing a run's report into its results directory: report.html, summary.md and
report-junit.xml."""

from dataclasses import dataclass
from pathlib import Path

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
    files = ReportFiles(run_dir / HTML, run_dir / MARKDOWN, run_dir / JUNIT)
    files.html.write_text(render_html(report), encoding="utf-8")
    files.markdown.write_text(summary_markdown(report), encoding="utf-8")
    write_run_junit(report.record, files.junit)
    return files
