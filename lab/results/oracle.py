"""Kernel-log oracle: read kernel logs and find BUG/WARNING/Oops/... reports.

Logs come either as raw /dev/kmsg records or as console text; both become
KernelLine lists, which find_problems() scans for report headers. Titles are
normalised the way syzkaller does it ("WARNING in lkdtm_WARNING") so that
the same bug gets the same title on every run and architecture.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

DEFAULT_ALLOWLIST = Path(__file__).with_name("allowlist.txt")


@dataclass(frozen=True)
class KernelLine:
    """One line of kernel output."""

    timestamp: float | None  # seconds since boot
    level: int | None  # console loglevel 0 (emerg) .. 7 (debug)
    seq: int | None  # /dev/kmsg sequence number
    text: str


_KMSG_RECORD = re.compile(r"^(\d+),(\d+),(\d+),[^;]*;(.*)$")
_KMSG_ESCAPE = re.compile(r"\\x([0-9a-fA-F]{2})")
_CONSOLE_STAMP = re.compile(r"(?:<(\d)>)?\[\s*(\d+\.\d+)\](?:\[\s*[CT]\d+\])? ?(.*)$")


def parse_kmsg(text: str) -> list[KernelLine]:
    """Parse /dev/kmsg records; dictionary continuation lines are dropped."""
    lines = []
    for raw in text.splitlines():
        record = _KMSG_RECORD.match(raw.rstrip("\r"))
        if record is None:  # " KEY=value" dictionary lines and stray text
            continue
        prio, seq, usec, body = record.groups()
        body = _KMSG_ESCAPE.sub(lambda escape: chr(int(escape.group(1), 16)), body)
        for part in body.split("\n"):
            lines.append(KernelLine(int(usec) / 1e6, int(prio) & 7, int(seq), part.rstrip()))
    return lines


def parse_console(text: str) -> list[KernelLine]:
    """Parse console text.

    If any line carries a printk timestamp, only such lines are kernel lines
    (the rest is other output sharing the console); otherwise every line is.
    """
    rows = [row.rstrip() for row in text.splitlines()]
    stamps = [_CONSOLE_STAMP.search(row) for row in rows]
    if not any(stamps):
        return [KernelLine(None, None, None, row) for row in rows]
    return [
        KernelLine(float(stamp[2]), int(stamp[1]) if stamp[1] else None, None, stamp[3].rstrip())
        for stamp in stamps
        if stamp
    ]


def parse_kernel_log(text: str) -> list[KernelLine]:
    """Parse a log in either format, telling them apart by the first line."""
    first = next((row for row in text.splitlines() if row.strip()), "")
    return parse_kmsg(text) if _KMSG_RECORD.match(first.rstrip("\r")) else parse_console(text)


# Lines that can never be allow-listed: BUG() and WARN() reports. Other lines that merely
# start with "WARNING:" (plain printk warnings) can be allow-listed, each with its reason.
_HARD = re.compile(
    r"^\s*(?:watchdog: )?(?:kernel BUG at |BUG: |WARNING: (?:CPU: \d+ PID: \d+ )?at )"
)


@dataclass(frozen=True)
class Allowlist:
    """Regular expressions for benign kernel lines that must not be reported."""

    patterns: tuple[re.Pattern[str], ...] = ()

    @classmethod
    def from_text(cls, text: str) -> Allowlist:
        """One regex per line; '#' lines are comments and every regex needs one."""
        patterns: list[re.Pattern[str]] = []
        explained = False
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                explained = False
            elif line.lstrip().startswith("#"):
                explained = True
            elif not explained:
                raise ValueError(f"allowlist line {number}: no comment explains {line!r}")
            else:
                patterns.append(re.compile(line.strip()))
        return cls(tuple(patterns))

    def allows(self, text: str) -> bool:
        """True if the line is benign; real BUG/WARNING lines never are."""
        return not _HARD.match(text) and any(p.search(text) for p in self.patterns)


def load_allowlist(path: Path = DEFAULT_ALLOWLIST) -> Allowlist:
    """Read an allowlist file (by default the lab's allowlist.txt)."""
    return Allowlist.from_text(path.read_text(encoding="utf-8"))


class ProblemKind(StrEnum):
    """What kind of kernel report a Problem is."""

    BUG = "BUG"
    WARNING = "WARNING"
    OOPS = "Oops"
    BAD_PAGE = "Bad page"
    SOFT_LOCKUP = "soft lockup"
    HUNG_TASK = "hung task"
    RCU_STALL = "RCU stall"
    PANIC = "panic"


_SYMBOL = re.compile(r"(?<![\w.$])([A-Za-z_.$][\w.$]*)\+0x[0-9a-f]+/0x[0-9a-f]+")


@dataclass(frozen=True)
class Problem:
    """One kernel report found in a log."""

    kind: ProblemKind
    title: str
    report: str  # the whole report block
    first_line: int  # index of its first line in the parsed lines

    @property
    def has_symbols(self) -> bool:
        """True if the report names functions (func+0xoff/0xsize), not bare addresses."""
        return _SYMBOL.search(self.report) is not None


def _function(symbol: str) -> str | None:
    """'foo.isra.0+0x1/0x2' -> 'foo'; None if it is not a symbol."""
    match = _SYMBOL.fullmatch(symbol)
    if match is None:
        return None
    # ppc64 ELFv1 code symbols start with a dot ('.lkdtm_BUG'): the function is 'lkdtm_BUG'.
    name = match[1].lstrip(".")
    return re.sub(r"(?:\.(?:cold|isra|constprop|part|lto_priv|llvm)(?:\.\d+)?)+$", "", name)


def _head(message: str) -> str:
    """The constant part of a message: up to the first ':', ',' or address."""
    return re.split(r":|,| at | for address| on (?:read|write)\b", message, maxsplit=1)[0].strip()


def _located(base: str, func: str | None) -> str:
    return f"{base} in {func}" if func else base


def _oops(match: re.Match[str], func: str | None) -> str:
    message = match["msg"]
    base = "Oops" if re.match(r"[0-9a-f]+ \[#", message) else f"Oops: {_head(message)}"
    return _located(base, func)


def _warning_at(match: re.Match[str], func: str | None) -> str:
    func = _function(match["sym"] or "") or func
    return f"WARNING in {func}" if func else f"WARNING at {match['file']}"


_Title = Callable[[re.Match[str], str | None], str]  # (header match, guilty function) -> title


@dataclass(frozen=True)
class _Rule:
    """A report header and how to title it."""

    kind: ProblemKind
    pattern: re.Pattern[str]
    title: _Title
    # Kinds of follow-up headers that belong to its report (besides _ABSORBS of its kind).
    absorbs: frozenset[ProblemKind] = frozenset()
    # Functions never to blame for this kind of report (the checker and its helpers), also
    # when the PC is in one.
    skip: frozenset[str] = frozenset()
    # Opened and closed by a ruler (KASAN, KFENCE); other reports may open with one only
    # (lockdep's end with their stack backtrace).
    boxed: bool = False


def _rule(
    kind: ProblemKind,
    regex: str,
    title: _Title,
    absorbs: frozenset[ProblemKind] = frozenset(),
    skip: frozenset[str] = frozenset(),
    boxed: bool = False,
) -> _Rule:
    return _Rule(kind, re.compile(r"^\s*" + regex), title, absorbs, skip, boxed)


# DEBUG_LIST's checks (__list_*_valid in 6.1, *_or_report from 6.6) and the list helpers
# that call them: the caller handed over the corrupted list.
_LIST_HELPERS = frozenset({
    "__list_add_valid", "__list_del_entry_valid", "__list_add_valid_or_report",
    "__list_del_entry_valid_or_report", "__list_add", "list_add", "list_add_tail",
    "__list_del_entry", "list_del", "list_del_init", "list_move", "list_move_tail",
    "list_replace", "list_replace_init", "list_del_rcu", "list_add_rcu", "list_add_tail_rcu",
})  # fmt: skip


def _fixed(base: str) -> _Title:
    return lambda match, func: base.format(**match.groupdict())


def _in_func(base: str) -> _Title:
    return lambda match, func: _located(base.format(**match.groupdict()), func)


def _sanitizer(match: re.Match[str], func: str | None) -> str:
    return f"BUG: {match['tool']}: {match['what']} in {_function(match['sym']) or match['sym']}"


def _kernel_bug(match: re.Match[str], func: str | None) -> str:
    return f"kernel BUG in {func}" if func else f"kernel BUG at {match['file']}"


def _generic(prefix: str, located: bool) -> _Title:
    def title(match: re.Match[str], func: str | None) -> str:
        base = f"{prefix}: {_head(match['msg'])}"
        return _located(base, func) if located else base

    return title


_K = ProblemKind
_RULES = (
    _rule(_K.PANIC, r"Kernel panic - not syncing: (?P<msg>.*?)\s*$", _fixed("kernel panic: {msg}")),
    _rule(
        _K.SOFT_LOCKUP, r"(?:watchdog: )?BUG: soft lockup - CPU#\d+", _in_func("BUG: soft lockup")
    ),
    _rule(_K.HUNG_TASK, r"INFO: task .+:\d+ blocked for more than", _in_func("INFO: task hung")),
    _rule(
        _K.RCU_STALL,
        r"(?:rcu: )?INFO: rcu_\w+ (?:self-)?detected (?:expedited )?stalls?",
        _in_func("INFO: rcu detected stall"),
    ),
    _rule(
        _K.BAD_PAGE,
        r"(?:BUG: )?Bad (?P<what>page state|page map|page cache|rss-counter state)",
        _fixed("BUG: Bad {what}"),
    ),
    _rule(
        _K.BUG,
        r"BUG: (?P<tool>KASAN|KFENCE|KMSAN|KCSAN): (?P<what>.+?) in (?P<sym>\S+)",
        _sanitizer,
        boxed=True,
    ),
    _rule(_K.BUG, r"kernel BUG at (?P<file>[^:\s]+)", _kernel_bug),
    # DEBUG_LIST: the message comes first, then the WARNING (or kernel BUG) of its check.
    _rule(
        _K.BUG,
        r"list_(?:add|del) corruption",
        _in_func("BUG: corrupted list"),
        absorbs=frozenset({_K.WARNING, _K.BUG, _K.OOPS}),
        skip=_LIST_HELPERS,
    ),
    # PAGE_POISONING (page_poison=1): a freed page was written to; found when it is
    # allocated again, so no function of the report is the culprit.
    _rule(
        _K.BUG,
        r"pagealloc: (?P<what>memory corruption|single bit error)",
        _fixed("BUG: pagealloc: {what}"),
    ),
    _rule(
        _K.WARNING,
        r"WARNING: (?:CPU: \d+ PID: \d+ )?at (?P<file>[^\s:]+)\S*(?: (?P<sym>\S+))?",
        _warning_at,
    ),
    _rule(_K.WARNING, r"WARNING: (?P<msg>.*)", _generic("WARNING", located=False)),
    _rule(_K.OOPS, r"(?:Internal error: )?Oops(?: - \w+)?: (?P<msg>.*)", _oops),
    _rule(_K.OOPS, r"general protection fault", _in_func("general protection fault")),
    _rule(_K.OOPS, r"invalid opcode: [0-9a-f]+ \[#", _in_func("invalid opcode")),
    _rule(
        _K.OOPS,
        r"Unable to handle kernel (?P<what>paging request|NULL pointer dereference)",
        _in_func("Unable to handle kernel {what}"),
    ),
    _rule(_K.BUG, r"BUG: (?P<msg>.*)", _generic("BUG", located=True)),
)

# Follow-up headers that belong to the report they appear in (x86 "Oops:" after "BUG: ...").
_ABSORBS = {ProblemKind.BUG: {ProblemKind.OOPS}, ProblemKind.OOPS: {ProblemKind.OOPS}}

_CUT_HERE = re.compile(r"^\s*-+\[ cut here \]-+\s*$")
_RULER = re.compile(r"^\s*={20,}\s*$")
_END_MARKER = re.compile(r"^\s*---\[ end (?:trace|Kernel panic)")
_CALL_TRACE = re.compile(r"^\s*Call [Tt]race:")
_TRACE_LINE = re.compile(
    r"^\s*(?:"
    r"</?(?:TASK|IRQ|NMI|EOI|SOFTIRQ)>"  # x86 stack sections
    r"|(?:\[<?[0-9a-f]+>?\]\s*)*(?:\? )?(?:" + _SYMBOL.pattern + r"|0x[0-9a-f]+)"  # frames
    r"|(?:[A-Z][A-Z0-9_]{1,7}|Code|Modules linked in|Instruction dump)\s*:"  # registers, code
    r"|(?:NIP|LR) +\[[0-9a-f]+\]"  # ppc64 symbolic NIP/LR
    r"|(?:<?[0-9a-f]{8,16}>?\s*)+$"  # hex dumps
    r"|--- interrupt:"  # ppc64 exception frame
    r"|irq event stamp: \d+|(?:hard|soft)irqs last +(?:en|dis)abled at "  # lockdep's irq trace
    r")"
)
_PC = (
    re.compile(r"\bRIP: 0010:(?:\[<[0-9a-f]+>\]\s+\[<[0-9a-f]+>\]\s+)?(\S+)"),  # x86-64 kernel mode
    re.compile(r"^\s*NIP +\[[0-9a-f]+\] (\S+)"),  # ppc64
    re.compile(r"^\s*pc : (\S+)"),  # arm64
    re.compile(r"\bE?IP(?: is at|:)(?: 0060:)?(?: \[<[0-9a-f]+>\])? (\S+)"),  # i386
)
_FRAME = re.compile(r"^\s*(?:\[<?[0-9a-f]+>?\]\s*)*(\? )?(\S+)(.*)$")
# Reporting, scheduling and interrupt plumbing: never the function to blame.
# fmt: off
_NOT_GUILTY = frozenset({
    "dump_stack", "dump_stack_lvl", "show_stack", "show_stack_lvl", "show_regs", "sched_show_task",
    "__warn", "warn_slowpath_fmt", "warn_slowpath_null", "report_bug", "handle_bug",
    "exc_invalid_op", "asm_exc_invalid_op", "__might_resched", "__might_sleep", "___might_sleep",
    "__might_fault", "might_fault", "__schedule", "schedule", "schedule_timeout",
    "schedule_preempt_disabled", "io_schedule", "io_schedule_timeout", "bad_page", "print_bad_pte",
    "check_mm", "__mmdrop", "panic", "kasan_report", "print_report", "print_address_description",
    "nmi_cpu_backtrace", "nmi_trigger_cpumask_backtrace", "arch_trigger_cpumask_backtrace",
    "rcu_dump_cpu_stacks", "print_cpu_stall", "check_cpu_stall", "rcu_sched_clock_irq",
    "update_process_times", "tick_sched_handle", "tick_sched_timer", "__hrtimer_run_queues",
    "hrtimer_interrupt", "watchdog_timer_fn",
})
# fmt: on
_NOT_GUILTY_PREFIXES = ("__asan_", "__kasan_", "kasan_", "__sanitizer_", "__ubsan_")
# Memory primitives: their caller handed them the bad address (also when the PC is in one).
# fmt: off
_MEM_HELPERS = frozenset({
    "memset", "__memset", "memcpy", "__memcpy", "memmove", "__memmove", "memcmp", "__memcmp",
    "memset_orig", "memcpy_orig", "memcpy_erms", "memset_erms", "memcpy_power7",
})
# fmt: on
_MAX_LINES = 200
_MAX_GAP_S = 1.0


def _guilty(texts: list[str], skip: frozenset[str] = frozenset()) -> str | None:
    """The function to blame: the kernel-mode PC, else the first reliable frame; never one
    of `skip` nor a memory primitive."""
    skip = skip | _MEM_HELPERS
    for text in texts:
        for pattern in _PC:
            pc = pattern.search(text)
            if pc and (func := _function(pc[1])) and func not in skip:
                return func
    in_trace = False
    for text in texts:
        if _CALL_TRACE.match(text):
            in_trace = True
            continue
        frame = _FRAME.match(text) if in_trace else None
        if frame is None or frame[1] or "(unreliable)" in frame[3]:
            continue
        func = _function(frame[2])
        if func and func not in _NOT_GUILTY | skip and not func.startswith(_NOT_GUILTY_PREFIXES):
            return func
    return None


def _gap(previous: KernelLine, line: KernelLine) -> float:
    if line.timestamp is None or previous.timestamp is None:
        return 0.0
    return line.timestamp - previous.timestamp


def _header(text: str) -> tuple[_Rule, re.Match[str]] | None:
    for rule in _RULES:
        if match := rule.pattern.match(text):
            return rule, match
    return None


def _block_end(lines: list[KernelLine], start: int, header: int, rule: _Rule) -> int:
    """Index just past the report that starts at `start` with its header at `header`."""
    boxed = rule.boxed and _RULER.match(lines[start].text) is not None
    absorbs = _ABSORBS.get(rule.kind, set()) | rule.absorbs
    in_trace = False
    end = header + 1
    while end < len(lines) and end - start < _MAX_LINES:
        line, previous = lines[end], lines[end - 1]
        if (_RULER if boxed else _END_MARKER).match(line.text):
            return end + 1
        if _gap(previous, line) > _MAX_GAP_S or _CUT_HERE.match(line.text):
            return end
        found = _header(line.text)
        if found and found[0].kind not in absorbs:
            return end
        if _CALL_TRACE.match(line.text):
            in_trace = True
        elif in_trace and not boxed and not _TRACE_LINE.match(line.text):
            return end
        end += 1
    return end


def find_problems(lines: list[KernelLine], allowlist: Allowlist) -> list[Problem]:
    """Every kernel report in the lines, in order; allow-listed lines start none."""
    problems = []
    index = taken = 0  # lines before `taken` belong to an earlier report
    while index < len(lines):
        text = lines[index].text
        found = _header(text)
        if found is None or allowlist.allows(text):
            index += 1
            continue
        rule, match = found
        opener = lines[index - 1].text if index > taken else ""
        start = index - 1 if _CUT_HERE.match(opener) or _RULER.match(opener) else index
        end = _block_end(lines, start, index, rule)
        texts = [line.text for line in lines[start:end]]
        title = rule.title(match, _guilty(texts[index - start :], rule.skip))
        problems.append(Problem(rule.kind, title, "\n".join(texts), start))
        index = taken = end
    return problems
