"""A bisect's report: the culprit, the confirmation, the failing output, how to reproduce
it, and every step. Markdown in the bisect's directory, and a terminal summary."""

import shlex
from dataclasses import dataclass
from pathlib import Path

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from lab.arch.variants import get_variant
from lab.bisect.driver import signature_of
from lab.bisect.policy import RunResult, evidence
from lab.bisect.search import Change, Plan
from lab.bisect.state import BisectState, Step
from lab.bisect.target import resolve_target
from lab.suites.catalogue import all_suites

DETAIL_LINES = 40


@dataclass(frozen=True)
class BisectReport:
    """What the report shows, gathered from the state and the plan."""

    state: BisectState
    range: str
    culprit: Change | None
    failing: RunResult | None  # the culprit's first run that failed like the original
    reproduce: tuple[str, ...]  # command lines


def describe_range(state: BisectState, count: int) -> str:
    if state.kind == "git":
        return f"git {state.tree}: {state.good[:12]}..{state.bad[:12]} ({count} commits)"
    return f"series {state.series} on {state.source} ({count} patches)"


def collect(state: BisectState, plan: Plan) -> BisectReport:
    """The report of a bisect, finished or not."""
    result = state.result
    key = result.culprit if result and result.culprit else ""
    failing = None
    if key:
        signature = signature_of(state)
        runs = [run for step in state.steps if step.candidate == key for run in step.runs]
        failing = next((run for run in runs if evidence(run, signature) == "match"), None)
    return BisectReport(
        state,
        describe_range(state, plan.count()),
        plan.change(key) if key else None,
        failing,
        tuple(reproduce_commands(state, plan, key)) if key else (),
    )


def reproduce_commands(state: BisectState, plan: Plan, key: str) -> list[str]:
    """`lab run` lines that run the test on the culprit: on its cached build, and from its
    source."""
    variant = get_variant(state.arch)
    suite = resolve_target(state.test, all_suites()).suite
    argv = ["lab", "run", "--arch", variant.arch, "--suite", suite, "--seed", str(state.seed)]
    if variant.mmu:
        argv += ["--mmu", variant.mmu]
    if state.pressure != "none":
        argv += ["--pressure", state.pressure]
    if state.duration_s:
        argv += ["--duration", f"{state.duration_s}s"]
    build_id = next((s.build_id for s in state.steps if s.candidate == key and s.build_id), "")
    lines = [shlex.join([*argv, "--kernel", build_id])] if build_id else []
    config = ["--flavour", state.flavour] if state.flavour != "tiny" else []
    for fragment in state.fragments:
        config += ["--config", fragment]
    lines.append(shlex.join([*argv, *plan.source_args(key), *config]))
    return lines


def step_counts(step: Step, report: BisectReport) -> tuple[int, int, int]:
    """(matching failures, passes, runs without evidence) of a step."""
    signature = signature_of(report.state)
    kinds = [evidence(run, signature) for run in step.runs]
    return kinds.count("match"), kinds.count("pass"), kinds.count("none")


def markdown(report: BisectReport) -> str:
    """The whole report as Markdown."""
    state, result = report.state, report.state.result
    lines = [
        f"# lab bisect {state.id}",
        "",
        f"- test: `{state.test}` on {state.arch}, pressure {state.pressure}",
        f"- failure followed: {signature_of(state).describe()}",
        f"- range: {report.range}",
        f"- runs per candidate: {state.repeat} ({state.repeat_reason})",
        f"- started with: `{state.command}`",
        f"- resume or show again: `lab bisect --resume {state.id}`",
        "",
    ]
    lines += [
        f"## Result: {result.kind if result else 'not finished'}",
        "",
        result.message if result else "The bisect has not finished.",
        "",
    ]
    if result and result.could_be:
        lines += [f"- {key}" for key in result.could_be] + [""]
    if report.culprit:
        change = report.culprit
        lines += [
            "## Culprit",
            "",
            f"**{change.title}**",
            "",
            f"- {change.ident}",
            f"- author: {change.author}",
            f"- date: {change.date}",
            f"- files: {', '.join(change.files)}",
            "",
            "```",
            change.stat,
            "```",
            "",
        ]
    if report.failing:
        run = report.failing
        detail = (run.details or run.message).splitlines()[:DETAIL_LINES]
        lines += [
            "## Failing output of the culprit",
            "",
            f"- message: {run.message}",
            f"- program output: {run.output or '(none)'}",
            f"- kernel log: {run.kernel_log or '(none)'}",
            f"- kernel reports: {', '.join(run.problems) or 'none'}",
            "",
            "```",
            *detail,
            "```",
            "",
        ]
    if report.reproduce:
        lines += ["## Reproduce", "", "```", *report.reproduce, "```", ""]
    lines += [
        "## Steps",
        "",
        "| step | role | candidate | verdict | runs | failed | passed | no evidence "
        "| build | time | reason |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for step in report.state.steps:
        failed, passed, none = step_counts(step, report)
        build = f"{step.build_id} ({step.build_s:.0f}s)" if step.build_id else "failed"
        reason = step.reason.replace("|", "\\|")
        lines.append(
            f"| {step.number} | {step.role} | {step.label} | {step.verdict} | "
            f"{len(step.runs)} | {failed} | {passed} | {none} | {build} | "
            f"{step.duration_s:.0f}s | {reason} |"
        )
    return "\n".join(lines) + "\n"


def write_report(report: BisectReport) -> Path:
    """report.md in the bisect's directory."""
    path = report.state.dir / "report.md"
    path.write_text(markdown(report))
    return path


VERDICT_STYLE = {"good": "green", "bad": "bold red", "skip": "yellow"}


def terminal(report: BisectReport, path: Path) -> RenderableType:
    """The steps as a table, then the result, the culprit and how to reproduce it."""
    table = Table(
        title=f"lab bisect {report.state.id}: {report.state.test} on "
        f"{report.state.arch}, {report.range}"
    )
    for column in ("step", "role", "candidate", "verdict", "runs", "failed", "time", "reason"):
        table.add_column(column)
    for step in report.state.steps:
        failed, _, _ = step_counts(step, report)
        table.add_row(
            str(step.number),
            step.role,
            Text(step.label[:60]),
            f"[{VERDICT_STYLE[step.verdict]}]{step.verdict}[/]",
            str(len(step.runs)),
            str(failed),
            f"{step.duration_s:.0f}s",
            Text(step.reason[:80]),
        )
    result = report.state.result
    parts: list[RenderableType] = [table]
    if result:
        parts.append(Text(f"{result.kind}: {result.message}"))
    if report.culprit:
        parts.append(
            Text(
                f"culprit: {report.culprit.title} ({report.culprit.author}); files: "
                f"{', '.join(report.culprit.files)}"
            )
        )
    parts += [Text(f"reproduce: {line}") for line in report.reproduce]
    parts.append(Text(f"report: {path}"))
    return Group(*parts)
