"""A bisect's report: culprit, failing output, reproducer, every step."""

from rich.console import Console

from lab.bisect.command import BisectOptions, git_state, plan_for, series_state
from lab.bisect.driver import run_bisect
from lab.bisect.policy import RunResult
from lab.bisect.report import collect, markdown, terminal, write_report
from lab.paths import PROJECT_ROOT

DEMO = PROJECT_ROOT / "patches" / "examples" / "bisect-demo"


def failing_from(culprit: int):
    def outcome(value: int, index: int) -> RunResult:
        if value >= culprit:
            return RunResult(
                "fail",
                problems=("WARNING in remap_file_pages",),
                message="does not show file page 3",
                details="# FAIL: does not show file page 3\n# page 3 has 0x4",
                output=f"/runs/{value}/smoke.ktap",
                kernel_log=f"/runs/{value}/kernel.log",
                duration_s=12.0,
            )
        return RunResult("pass", duration_s=11.0)

    return outcome


def test_report_of_a_git_bisect(value_repo, bisect_cache, sim):
    repo, commits = value_repo
    state = git_state(
        repo,
        commits[0],
        commits[-1],
        BisectOptions(test="smoke/smoke/remap_file_pages", repeat=1, seed=77),
    )
    plan = plan_for(state)
    run_bisect(
        state, plan, sim.Bench(sim.git_value(repo), failing_from(13), unbuildable=frozenset({9}))
    )
    report = collect(state, plan)
    text = markdown(report)
    assert "## Result: confirmed" in text
    assert "**value 13**" in text and "- author: Dev 13 <dev13@example.org>" in text
    assert "- files: value.txt" in text and "1 file changed" in text
    assert f"- {commits[13]}" in text
    assert "- message: does not show file page 3" in text
    assert "- program output: /runs/13/smoke.ktap" in text
    assert "- kernel log: /runs/13/kernel.log" in text
    assert "# page 3 has 0x4" in text
    assert report.reproduce == (
        "lab run --arch x86_64 --suite smoke --seed 77 --kernel b0013",
        f"lab run --arch x86_64 --suite smoke --seed 77 --source git:{repo.resolve()}@"
        f"{commits[13]}",
    )
    rows = [line for line in text.splitlines() if line.startswith("| ") and "step" not in line]
    assert len(rows) == len(state.steps)
    assert any("| skip |" in row and "does not build" in row for row in rows)
    assert f"| 1 | bad end | {commits[-1][:7]} value 19 | bad | 1 | 1 | 0 | 0 | b0019" in rows[0]
    assert f"`lab bisect --resume {state.id}`" in text
    assert state.command in text

    path = write_report(report)
    assert path == state.dir / "report.md" and path.read_text() == text
    console = Console(record=True, width=240)
    console.print(terminal(report, path))
    shown = console.export_text()
    assert "confirmed:" in shown and "culprit: value 13 (Dev 13 <dev13@example.org>)" in shown
    assert f"report: {path}" in shown


def test_report_of_a_series_bisect_on_a_ppc64_hash_guest(bisect_cache, sim):
    state = series_state(
        "debian-6.1",
        DEMO,
        BisectOptions(
            arch="ppc64-hash",
            test="smoke/remap_file_pages",
            repeat=1,
            pressure="light",
            seed=5,
            duration_s=90,
        ),
    )
    plan = plan_for(state)
    run_bisect(
        state, plan, sim.Bench(sim.series_value, failing_from(11), unbuildable=frozenset({8}))
    )
    report = collect(state, plan)
    assert report.culprit.title == (
        "mm/mmap: remap_file_pages: map the neighbouring file page (planted bug)"
    )
    assert report.reproduce[1] == (
        "lab run --arch ppc64 --suite smoke --seed 5 --mmu hash --pressure light --duration 90s "
        f"--source debian-6.1 --series {state.dir / 'series' / '011'}"
    )
    assert f"series {DEMO} on debian-6.1 (16 patches)" in markdown(report)


def test_report_of_an_unfinished_bisect(value_repo, bisect_cache):
    repo, commits = value_repo
    state = git_state(
        repo, commits[0], commits[-1], BisectOptions(test="smoke/smoke/remap_file_pages", repeat=2)
    )
    report = collect(state, plan_for(state))
    text = markdown(report)
    assert "## Result: not finished" in text and report.reproduce == ()
    assert "- runs per candidate: 2 (--repeat)" in text
