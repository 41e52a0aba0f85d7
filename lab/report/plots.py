"""Small PNG plots of a case's trend, duration and pass rate per run (matplotlib's Agg
backend, no pyplot state), and the data URIs that embed them in a page."""

import base64
import io

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from lab.report.colours import STATE_COLOURS, state_colour
from lab.report.trends import Trend

SIZE_IN = (6.4, 1.9)
DPI = 72
EDGE = {"edgecolor": "#333333", "linewidth": 0.5}


def _durations(axes: Axes, trend: Trend) -> None:
    """The case's duration in each run that ran it, a dot in its state's colour."""
    ran = [(i, p) for i, p in enumerate(trend.points) if p.state is not None]
    xs, ys = [i for i, _ in ran], [p.duration_s for _, p in ran]
    axes.plot(xs, ys, color="#555555", linewidth=1, zorder=1)
    axes.scatter(
        xs,
        ys,
        s=14,
        zorder=2,
        c=[state_colour(p.state) for _, p in ran],
        edgecolors=EDGE["edgecolor"],
        linewidths=EDGE["linewidth"],
    )
    axes.set_title(
        "duration (s)" if trend.timed == "case" else "its program's duration (s)", fontsize=8
    )
    axes.set_ylim(bottom=0)


def _pass_rates(axes: Axes, trend: Trend) -> None:
    """Per run a bar split into the share of attempts that passed (green) and failed (red);
    a run that only skipped or could not run the case is a bar of that state's colour, a run
    without the case is empty."""
    runs = range(len(trend.points))
    passes = [p.pass_rate if p.pass_rate is not None else 0.0 for p in trend.points]
    rest = [
        1.0 - r if p.pass_rate is not None else float(p.state is not None)
        for p, r in zip(trend.points, passes, strict=True)
    ]
    axes.bar(runs, passes, color=STATE_COLOURS["pass"], **EDGE)
    axes.bar(
        runs,
        rest,
        bottom=passes,
        **EDGE,
        color=[
            STATE_COLOURS["fail"] if p.pass_rate is not None else state_colour(p.state)
            for p in trend.points
        ],
    )
    passed, evidence = trend.runs_passed
    axes.set_title(f"pass rate: {passed} of {evidence} runs", fontsize=8)
    axes.set_ylim(0, 1.05)


def trend_png(trend: Trend) -> bytes:
    """The duration and the pass rate panels side by side, the first and last run named."""
    figure = Figure(figsize=SIZE_IN, dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    duration, rate = figure.subplots(1, 2)
    _durations(duration, trend)
    _pass_rates(rate, trend)
    ends = sorted({0, len(trend.points) - 1})
    for axes in (duration, rate):
        axes.set_xlim(-0.6, len(trend.points) - 0.4)
        axes.set_xticks(ends, [trend.points[i].run_id for i in ends], fontsize=6)
        axes.tick_params(axis="y", labelsize=6)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def data_uri(png: bytes) -> str:
    """A PNG as a data: URI an <img> can show without any other file."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
