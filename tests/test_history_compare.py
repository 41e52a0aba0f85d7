"""Two runs compared case by case, one run across arch variants, and their terminal tables."""

from rich.console import Console

from lab.arch.variants import parse_variants
from lab.history.compare import compare_runs, cross_arch
from lab.history.views import compare_view, cross_arch_view

X86 = "debian-6.1/x86_64/none"
PPC = "debian-6.1/ppc64/none"
HASH = "debian-6.1/ppc64-hash/none"
VARIANTS = parse_variants("x86_64,ppc64,ppc64-hash")


def text(renderable) -> str:
    console = Console(record=True, width=200)
    console.print(renderable)
    return console.export_text()


def test_changes_come_first_in_order_then_unchanged_cases(history_run):
    a = history_run(
        "20261101-010000",
        {
            X86: [
                ("boot", "boot", "p"),
                ("fault", "fault/cow_fork", "p"),
                ("fault", "fault/edges", "f"),
                ("smoke", "smoke/kernel", "p"),
                ("nopfn", "nopfn/insert", "p"),
                ("fault", "fault/race", "p"),
            ]
        },
    )
    b = history_run(
        "20261102-010000",
        {
            X86: [
                ("boot", "boot", "p"),
                ("fault", "fault/cow_fork", "pf"),
                ("fault", "fault/edges", "p"),
                ("stress-ng", "stress-ng-vm/stress-ng-vm", "s"),
                ("fault", "fault/race", "i"),
            ]
        },
    )
    changes = compare_runs(a, b)
    assert [(c.case, c.a, c.b, c.kind) for c in changes] == [
        ("fault/cow_fork", "pass", "fail", "pass->fail"),
        ("fault/edges", "fail", "pass", "fail->pass"),
        ("stress-ng-vm/stress-ng-vm", None, "skip", "appeared"),
        ("smoke/kernel", "pass", None, "disappeared"),
        ("nopfn/insert", "pass", None, "disappeared"),
        ("fault/race", "pass", "infra", "pass->infra"),
        ("boot", "pass", "pass", "same"),
    ]
    assert {c.cell for c in changes} == {X86}
    output = text(compare_view("A", "B", changes, changed_only=True))
    assert "fault/fault/cow_fork" in output and "boot/boot" not in output
    assert "1 pass->fail, 1 fail->pass, 1 appeared, 2 disappeared, 1 pass->infra, 1 same" in output
    assert "boot/boot" in text(compare_view("A", "B", changes, changed_only=False))


def test_cells_are_matched_by_key(history_run):
    a = history_run("20261101-010000", {X86: [("boot", "boot", "p")], PPC: [("boot", "boot", "p")]})
    b = history_run(
        "20261102-010000", {X86: [("boot", "boot", "p")], HASH: [("boot", "boot", "p")]}
    )
    assert [(c.cell, c.kind) for c in compare_runs(a, b)] == [
        (HASH, "appeared"),
        (PPC, "disappeared"),
        (X86, "same"),
    ]


def test_cross_arch_flags_a_case_that_passes_on_one_variant_and_fails_on_another(history_run):
    run = history_run(
        "20261101-010000",
        {
            X86: [
                ("boot", "boot", "p"),
                ("nonlinear", "nonlinear/edges", "p"),
                ("nopfn", "nopfn/insert", "p"),
            ],
            PPC: [
                ("boot", "boot", "p"),
                ("nonlinear", "nonlinear/edges", "p"),
                ("nopfn", "nopfn/insert", "f"),
            ],
            HASH: [("boot", "boot", "p"), ("nonlinear", "nonlinear/edges", "f")],
            "debian-6.1/x86_64/heavy/600s": [("boot", "boot", "s")],
        },
    )
    table = cross_arch(run, VARIANTS)
    assert [c.header for c in table.columns] == [
        "x86_64 (4K pages)",
        "ppc64 (64K pages)",
        "ppc64-hash (64K pages)",
    ]
    assert [(r.condition, r.suite, r.case, r.states, r.divergent) for r in table.rows] == [
        ("none", "nonlinear", "nonlinear/edges", ("pass", "pass", "fail"), True),
        ("none", "nopfn", "nopfn/insert", ("pass", "fail", None), True),
        ("none", "boot", "boot", ("pass", "pass", "pass"), False),
        ("heavy/600s", "boot", "boot", ("skip", None, None), False),
    ]
    assert [r.case for r in table.divergent] == ["nonlinear/edges", "nopfn/insert"]
    output = text(cross_arch_view("20261101-010000", table))
    assert "ppc64-hash (64K pages)" in output
    assert "2 of 4 cases diverge between arch variants" in output
    assert output.count("divergence") == 3  # the header and two rows


def test_cross_arch_keeps_to_the_chosen_variants(history_run):
    run = history_run(
        "20261101-010000", {X86: [("boot", "boot", "p")], HASH: [("boot", "boot", "f")]}
    )
    table = cross_arch(run, parse_variants("x86_64,ppc64"))
    assert [(r.states, r.divergent) for r in table.rows] == [(("pass", None), False)]
