"""The report's colours: one per case state, white for what did not run, and the background
of a regression's row."""

from lab.results.records import State

STATE_COLOURS: dict[State, str] = {
    "pass": "#a5d6a7",  # green
    "fail": "#ef5350",  # red
    "infra": "#ffb74d",  # amber
    "skip": "#cfcfcf",  # grey
}
NOT_RUN_COLOUR = "#ffffff"
REGRESSION_ROW_COLOUR = "#ffcdd2"


def state_colour(state: State | None) -> str:
    """The colour of a state; None (not run) is white."""
    return NOT_RUN_COLOUR if state is None else STATE_COLOURS[state]
