"""The report's matrix table: a row per cell, a column per suite, counts and the worst state,
and the colour of each state."""

import pytest

from lab.report.colours import NOT_RUN_COLOUR, STATE_COLOURS, state_colour
from lab.report.matrix import MatrixEntry, matrix_table, worst_state

X86 = "debian-6.1/x86_64/none"
HASH = "debian-6.1/ppc64-hash/heavy"
SOAK = "debian-6.12/x86_64/none/600s"


@pytest.mark.parametrize(
    ("states", "worst"),
    [
        (["pass", "pass"], "pass"),
        (["pass", "skip"], "skip"),
        (["skip", "infra", "pass"], "infra"),
        (["infra", "fail", "skip", "pass"], "fail"),
        ([], None),
    ],
)
def test_the_worst_state_is_fail_then_infra_then_skip_then_pass(states, worst):
    assert worst_state(states) == worst
    assert MatrixEntry.of(states).worst == worst


def test_rows_are_cells_columns_are_suites_and_entries_count_cases(history_run):
    run = history_run(
        "20261101-010000",
        {
            X86: [
                ("boot", "boot", "p"),
                ("fault", "fault/cow_fork", "pf"),
                ("fault", "fault/edges", "p"),
                ("fault", "fault/race", "s"),
            ],
            HASH: [
                ("boot", "boot", "p"),
                ("nonlinear", "nonlinear/edges", "i"),
                ("fault", "fault/cow_fork", "p"),
                ("fault", "fault/edges", "p"),
            ],
            SOAK: [("boot", "boot", "f")],
        },
    )
    table = matrix_table(run)
    assert table.suites == ("boot", "fault", "nonlinear")
    assert [row.cell.key for row in table.rows] == [X86, HASH, SOAK]
    x86, hash_, soak = ([(e.counts, e.worst) for e in row.entries] for row in table.rows)
    assert x86 == [
        ((("pass", 1),), "pass"),
        ((("fail", 1), ("skip", 1), ("pass", 1)), "fail"),  # cow_fork failed once
        ((), None),
    ]
    assert hash_ == [((("pass", 1),), "pass"), ((("pass", 2),), "pass"), ((("infra", 1),), "infra")]
    assert soak == [((("fail", 1),), "fail"), ((), None), ((), None)]
    assert [e.label for e in table.rows[0].entries] == [
        "1 pass",
        "1 fail, 1 skip, 1 pass",
        "not run",
    ]
    totals = [row.total for row in table.rows]
    assert [(t.counts, t.total) for t in totals] == [
        ((("fail", 1), ("skip", 1), ("pass", 2)), 4),
        ((("infra", 1), ("pass", 3)), 4),
        ((("fail", 1),), 1),
    ]
    assert totals[1].count("pass") == 3 and totals[1].count("fail") == 0


def test_each_state_has_its_colour_and_not_run_is_white():
    assert {
        state: state_colour(state) for state in ("pass", "fail", "infra", "skip")
    } == STATE_COLOURS
    assert state_colour(None) == NOT_RUN_COLOUR == "#ffffff"
    assert len(set(STATE_COLOURS.values()) | {NOT_RUN_COLOUR}) == 5
    red, green = STATE_COLOURS["fail"], STATE_COLOURS["pass"]
    assert int(red[1:3], 16) > int(red[3:5], 16)  # red is red
    assert int(green[3:5], 16) > int(green[1:3], 16)  # green is green
