"""The report page: one self-contained HTML file rendered from the package's Jinja2 templates
(CSS inline, plots as data URIs, logs linked by paths relative to the run directory)."""

from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from lab.report import text
from lab.report.colours import NOT_RUN_COLOUR, REGRESSION_ROW_COLOUR, STATE_COLOURS
from lab.report.model import RunReport

TEMPLATE = "report.html.j2"


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("lab.report", "templates"),
        autoescape=select_autoescape(["html.j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(when=text.when, duration=text.duration)
    env.globals.update(
        state_colours=STATE_COLOURS,
        not_run_colour=NOT_RUN_COLOUR,
        regression_colour=REGRESSION_ROW_COLOUR,
        last_good=text.last_good,
        kernels_since=text.kernels_since,
    )
    return env


def render_html(report: RunReport) -> str:
    """The page of a run's report."""
    return environment().get_template(TEMPLATE).render(report=report, run=report.run)
