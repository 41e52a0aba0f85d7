"""Short texts the report's outputs share: dates, durations, a regression's bisect range."""

from lab.report.verdicts import CaseVerdict


def when(iso: str) -> str:
    """'2026-11-23T10:51:25' -> '2026-11-23 10:51:25'."""
    return iso.replace("T", " ")


def duration(seconds: float) -> str:
    """'45 s', '12 min 05 s', '2 h 03 min'."""
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02} min"
    if minutes:
        return f"{minutes} min {secs:02} s"
    return f"{secs} s"


def last_good(verdict: CaseVerdict) -> str:
    """'20261122-105125 (debian-6.1 6.1.192+ 5888a2b7)', or '-'."""
    good = verdict.verdict.last_good
    if good is None:
        return "-"
    label = good.kernel.label()
    return f"{good.run_id} ({label})" if label else good.run_id


def kernels_since(verdict: CaseVerdict) -> str:
    """The kernels run since the last good run, or that the kernel has not changed; and the
    tools, when they changed too."""
    suspects = verdict.verdict.suspect_kernels
    kernels = ", ".join(k.label() for k in suspects) or "unchanged since the last good run"
    tools = verdict.verdict.changed_tools
    return kernels + (f"; the tools changed too: {tools[0]} -> {tools[1]}" if tools else "")
