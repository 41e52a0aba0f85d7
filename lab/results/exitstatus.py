"""Verdicts for programs that print no KTAP: one case from the exit status and the output.

Also the kselftest conventions for KTAP programs that skip as a whole: a "1..0 # SKIP" plan,
or a skip exit status (KSFT_SKIP, 4) before any TAP was printed.
"""

import re
from dataclasses import dataclass

from lab.results.ktap import Case, ProgramStatus, Status, Suite

TAIL_LINES = 30  # output lines kept as a case's diagnostics


@dataclass(frozen=True)
class ExitStatusRules:
    """How an exit status is read: 0 passes, a `skip` status skips, anything else fails.

    `meanings` explains statuses in messages; `proof`, a regular expression, must match a
    line of a passing program's output, and its `count` group, if it has one, must be above
    zero in every matching line (a stressor that did no work did not test anything).
    """

    skip: tuple[int, ...] = (4,)
    meanings: tuple[tuple[int, str], ...] = ()
    proof: str = ""

    def meaning(self, status: int) -> str:
        return dict(self.meanings).get(status, "")


def output_tail(text: str, lines: int = TAIL_LINES) -> list[str]:
    """The last non-empty lines of a program's output."""
    return [line for line in text.splitlines() if line.strip()][-lines:]


def proof_problem(text: str, pattern: str) -> tuple[list[str], str]:
    """The lines that match the proof pattern, and what is wrong with them ('' if nothing)."""
    regex = re.compile(pattern)
    matches = [(line, m) for line in text.splitlines() if (m := regex.search(line))]
    if not matches:
        return [], f"no output line matches the proof pattern {pattern!r}"
    idle = [line for line, m in matches if "count" in regex.groupindex and int(m["count"]) == 0]
    if idle:
        return [line for line, _ in matches], f"did no work: {idle[0].strip()}"
    return [line for line, _ in matches], ""


def exit_status_suite(
    name: str, output: str, status: ProgramStatus, rules: ExitStatusRules
) -> Suite:
    """One case named `name`, judged from how the program ended and what it printed."""
    diagnostics = output_tail(output)
    reason = ""
    if status.kind != "exit":
        verdict, reason = Status.CRASHED, f"program {status.describe()}"
    elif status.value in rules.skip:
        verdict = Status.SKIP
    elif status.value != 0:
        verdict = Status.FAIL
        meaning = rules.meaning(status.value)
        reason = f"program {status.describe()}" + (f" ({meaning})" if meaning else "")
    else:
        verdict = Status.PASS
    if rules.proof:
        proof, problem = proof_problem(output, rules.proof)
        diagnostics += [f"proof: {line.strip()}" for line in proof]
        if problem and verdict is Status.PASS:
            verdict, reason = Status.FAIL, problem
    directive = f"SKIP {rules.meaning(status.value)}".strip() if verdict is Status.SKIP else None
    if reason:
        diagnostics.append(reason)
    case = Case(name, 1, verdict, directive, diagnostics, reason=reason)
    return Suite(name, 1, [case], [], [])


def whole_program_skip(
    suite: Suite, name: str, output: str, status: ProgramStatus, rules: ExitStatusRules
) -> Suite:
    """A KTAP program that skipped as a whole becomes one SKIP case; other suites as they are.

    That is a "1..0 # SKIP reason" plan, or a skip exit status with no TAP at all."""
    if suite.cases:
        return suite
    skipped_plan = suite.plan == 0 and not suite.errors
    skipped_early = suite.plan is None and status.kind == "exit" and status.value in rules.skip
    if not (skipped_plan or skipped_early):
        return suite
    reasons = [d.lstrip("# ") for d in suite.diagnostics if d.lstrip("# ").startswith("SKIP")]
    directive = reasons[0] if reasons else "SKIP"
    case = Case(name, 1, Status.SKIP, directive, output_tail(output))
    return Suite(suite.name, 1, [case], suite.diagnostics, [])
