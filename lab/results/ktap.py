"""Parse KTAP / TAP output of a guest test program into a tree of cases.

Accepts "KTAP version 1", "TAP version 13" and "TAP version 14" headers,
nesting by indentation (KUnit) or by "# " prefixes (kselftest runner), text
before the header, and a printk or other common prefix on every line.
"""

from __future__ import annotations

import re
import signal
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import Enum
from typing import Literal


class Status(Enum):
    """Outcome of one case."""

    PASS = "pass"
    FAIL = "fail"
    SKIP = "skip"
    CRASHED = "crashed"


@dataclass
class Case:
    """One result line (or a case the plan promised that never reported)."""

    name: str
    number: int
    status: Status
    directive: str | None = None
    diagnostics: list[str] = field(default_factory=list)
    subtests: list[Case] = field(default_factory=list)
    reason: str = ""  # why the parser set CRASHED, or why an exit status failed; else empty


@dataclass
class Suite:
    """A whole KTAP document: the top-level plan and results."""

    name: str
    plan: int | None
    cases: list[Case]
    diagnostics: list[str]
    errors: list[str]


@dataclass(frozen=True)
class ProgramStatus:
    """How the program that printed the KTAP text ended."""

    kind: Literal["exit", "signal", "timeout", "error"]
    value: int

    def describe(self) -> str:
        """Human-readable description, e.g. 'killed by signal 11 (SIGSEGV)'."""
        if self.kind == "exit":
            return f"exited with status {self.value}"
        if self.kind == "signal":
            try:
                return f"killed by signal {self.value} ({signal.Signals(self.value).name})"
            except ValueError:
                return f"killed by signal {self.value}"
        if self.kind == "timeout":
            return f"timed out after {self.value} s"
        return f"could not be run (error {self.value})"


_PRINTK_STAMP = re.compile(r"\[\s*\d+\.\d+\](?:\[\s*[CT]\d+\])?")
_PRINTK_PREFIX = re.compile(r"^\[\s*\d+\.\d+\](?:\[\s*[CT]\d+\])? ?")
_HEADER = re.compile(r"K?TAP version \d+$")
_VERSION = re.compile(r"^(\s*)K?TAP version \d+$")
_NESTED_VERSION = re.compile(r"^(\s*)# K?TAP version \d+$")
_SUBTEST = re.compile(r"^(\s*)# Subtest: (.*)$")
_PLAN = re.compile(r"^(\s*)1\.\.(\d+)\s*(?:#\s*(.*))?$")
_RESULT = re.compile(r"^(\s*)(ok|not ok)\s+(\d+)\b\s*(?:-\s+)?(.*)$")
_NAME_DIRECTIVE = re.compile(r"^(.*?)\s*(?:(?<!\\)#\s*(.*))?$")
_BAIL_OUT = re.compile(r"^\s*Bail out!\s*(.*)$")
_PANIC = re.compile(r"^\s*Kernel panic - not syncing: (.*)$")
_OUTPUT_END = re.compile(
    r"^\s*(?:reboot: (?:System halted|Power down|Restarting system)|List of all partitions:)"
)


def _strip_printk(line: str) -> str:
    return _PRINTK_PREFIX.sub("", line, count=1)


def _isolate(text: str) -> list[str] | None:
    """The lines from the version header on, with the header's prefix removed.

    Like kunit_parser, whatever precedes the first version line is taken as a
    prefix of every line; a printk timestamp prefix is matched as a pattern
    (its digits change), any other prefix literally. Lines lacking it are kept.
    """
    lines = [line.rstrip() for line in text.splitlines()]
    for index, line in enumerate(lines):
        match = _HEADER.search(line)
        if match is None:
            continue
        prefix = line[: match.start()]
        if _PRINTK_STAMP.fullmatch(prefix.strip()):
            return [_strip_printk(rest) for rest in lines[index:]]
        return [rest.removeprefix(prefix) for rest in lines[index:]]
    return None


def _unwrap_kselftest(lines: list[str]) -> list[str]:
    """Turn the kselftest runner's '# '-prefixed nested TAP into indented TAP."""
    out: list[str] = []
    index = 0
    while index < len(lines):
        match = _NESTED_VERSION.match(lines[index])
        if match is None:
            out.append(lines[index])
            index += 1
            continue
        lead = match.group(1)
        nested: list[str] = []
        while index < len(lines) and (
            lines[index].startswith(lead + "# ") or lines[index] == lead + "#"
        ):
            nested.append(lead + "  " + lines[index][len(lead) + 2 :])
            index += 1
        out.extend(_unwrap_kselftest(nested))
    return out


def _width(line: str) -> int:
    """Indentation of a line, tabs counted as 8 columns."""
    return len(line[: len(line) - len(line.lstrip())].expandtabs(8))


def _status(result: str, directive: str | None) -> Status:
    keyword = directive.split()[0].upper() if directive else ""
    if keyword in ("SKIP", "TODO"):
        return Status.SKIP
    return Status.PASS if result == "ok" else Status.FAIL


@dataclass
class _Block:
    """A KTAP (sub)document being parsed."""

    indent: int
    path: str
    name: str = ""
    plan: int | None = None
    skip_plan: bool = False
    cases: list[Case] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)  # diagnostics for the next result
    child: _Block | None = None  # closed nested block awaiting its result line

    def diagnostic(self, line: str) -> None:
        if line.strip():
            self.pending.append(" " * max(0, _width(line) - self.indent) + line.strip())

    def crashed(self, name: str, subtests: list[Case], reason: str) -> None:
        number = len(self.cases) + 1
        self.cases.append(Case(name, number, Status.CRASHED, None, self.pending, subtests, reason))
        self.pending = []


class _Parser:
    """Stack machine over the isolated KTAP lines; the stack follows indentation."""

    def __init__(self, indent: int) -> None:
        self.stack = [_Block(indent=indent, path="")]
        self.errors: list[str] = []
        self.cause: str | None = None  # blamed on the next unreported case

    @property
    def top(self) -> _Block:
        return self.stack[-1]

    def error(self, block: _Block, message: str) -> None:
        self.errors.append(f"{block.path}: {message}" if block.path else message)

    def blame(self, default: str) -> str:
        """Reason for an unreported case: the first one after the end gets the cause."""
        if self.cause is None:
            return default
        reason, self.cause = f"did not report: {self.cause}", None
        return reason

    def feed(self, line: str) -> None:
        match = _VERSION.match(line) or _SUBTEST.match(line) or _PLAN.match(line)
        match = match or _RESULT.match(line)
        if match is None:
            self.top.diagnostic(line)
            return
        indent = _width(line)
        while indent < self.top.indent and len(self.stack) > 1:
            self.pop()
        if indent > self.top.indent:
            parent = self.top
            self.adopt_orphan(parent)
            path = f"{parent.path}.{len(parent.cases) + 1}".lstrip(".")
            self.stack.append(_Block(indent=indent, path=path))
        self.handle(match, line)

    def handle(self, match: re.Match[str], line: str) -> None:
        block = self.top
        fresh = block.plan is None and not block.cases and block.child is None
        if match.re is _VERSION:
            if not fresh or block.name:
                self.error(block, f"unexpected version line {line.strip()!r}")
        elif match.re is _SUBTEST:
            if fresh and not block.name:
                block.name = match.group(2).strip()
            else:
                block.diagnostic(line)
        elif match.re is _PLAN:
            if block.plan is not None:
                self.error(block, f"second plan line {line.strip()!r}")
                return
            block.plan = int(match.group(2))
            if directive := match.group(3):
                block.skip_plan = directive.upper().startswith("SKIP")
                block.pending.append(f"# {directive}")
        else:
            self.add_result(block, match)

    def add_result(self, block: _Block, match: re.Match[str]) -> None:
        number = int(match.group(3))
        expected = len(block.cases) + 1
        if number != expected:
            self.error(block, f"expected test number {expected}, found {number}")
        name, directive = _NAME_DIRECTIVE.match(match.group(4)).groups()
        subtests = block.child.cases if block.child else []
        block.child = None
        case = Case(
            name or f"case {number}",
            number,
            _status(match.group(2), directive),
            directive or None,
            block.pending,
            subtests,
        )
        if any(sub.status is Status.CRASHED for sub in subtests):
            case.status, case.reason = Status.CRASHED, "a subtest crashed"
        block.pending = []
        block.cases.append(case)

    def adopt_orphan(self, block: _Block) -> None:
        """Record a finished nested block whose result line never came."""
        if (child := block.child) is not None:
            block.child = None
            number = len(block.cases) + 1
            self.error(block, f"subtest {number} has no result line")
            name = child.name or f"case {number} (not reported)"
            block.crashed(name, child.cases, self.blame("no result line"))

    def close(self, block: _Block) -> None:
        """Check a finished block against its plan; missing cases become CRASHED."""
        self.adopt_orphan(block)
        count = len(block.cases)
        if block.plan is None and count == 0:
            self.error(block, "no test results")
        elif block.plan is not None and count < block.plan:
            self.error(block, f"plan 1..{block.plan} but only {count} results")
            for number in range(count + 1, block.plan + 1):
                block.crashed(f"case {number} (not reported)", [], self.blame("not reported"))
        elif block.plan is not None and count > block.plan:
            self.error(block, f"plan 1..{block.plan} but {count} results")

    def pop(self) -> None:
        """Close the innermost block and hand it to its parent's next result."""
        block = self.stack.pop()
        self.close(block)
        self.top.pending.extend(block.pending)
        self.top.child = block

    def finish(self, cause: str) -> _Block:
        """Close every open block at the end of the output; cause is blamed first."""
        self.cause = cause
        while len(self.stack) > 1:
            self.pop()
        self.close(self.top)
        return self.top


def _leaves(cases: list[Case]) -> Iterator[Case]:
    for case in cases:
        if case.subtests:
            yield from _leaves(case.subtests)
        else:
            yield case


def _read(lines: list[str], parser: _Parser) -> str | None:
    """Feed lines to the parser until the output ends; return an abnormal end cause."""
    for line in _unwrap_kselftest(lines):
        kernel = _strip_printk(line)
        if panic := _PANIC.match(kernel):
            return f"kernel panic: {panic.group(1)}"
        if bail := _BAIL_OUT.match(line):
            return f"bail out: {bail.group(1)}".rstrip(": ")
        if _OUTPUT_END.match(kernel):
            return None
        parser.feed(line)
    return None


def parse_ktap(text: str, *, program_status: ProgramStatus | None = None) -> Suite:
    """Parse KTAP text; program_status tells how the printing program ended."""
    crashed = program_status is not None and program_status.kind != "exit"
    lines = _isolate(text)
    if lines is None:
        errors = ["no KTAP/TAP version line found"]
        if crashed:
            errors.append(f"program {program_status.describe()}")
        return Suite(name="", plan=None, cases=[], diagnostics=[], errors=errors)
    parser = _Parser(_width(lines[0]))
    cause = _read(lines[1:], parser)
    if cause is None and crashed:
        cause = f"program {program_status.describe()}"
    ended = f"program {program_status.describe()}" if program_status else "output ended"
    root = parser.finish(cause or ended)
    if cause is not None and parser.cause is not None:  # nothing was left unreported
        if root.plan is None:
            number = len(root.cases) + 1
            root.crashed(f"case {number} (not reported)", [], parser.blame(""))
        else:
            parser.errors.append(f"{cause} after all planned results")
    if (
        program_status is not None
        and program_status.kind == "exit"
        and program_status.value != 0
        and not root.skip_plan
        and all(case.status is Status.PASS for case in _leaves(root.cases))
    ):
        parser.errors.append(f"program {program_status.describe()} although no case failed")
    return Suite(root.name, root.plan, root.cases, root.pending, parser.errors)
