"""JUnit XML for CI: one <testsuite> per (arch, suite) and remote target, one <testcase> per
record."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from pathlib import Path

from lab import files
from lab.results.records import COMPLETE, CaseRecord, RunStatus

# Characters XML 1.0 cannot carry (console logs hold escape sequences and NULs).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _text(value: str) -> str:
    return _NOT_XML.sub(lambda char: f"\\x{ord(char.group()):02x}", value)


def _group(record: CaseRecord) -> str:
    """'x86_64.smoke', or 'x86_64.smoke (ssh://cell-blade)' for a remote target's record."""
    target = f" ({record.target})" if record.target else ""
    return f"{record.arch}.{record.suite}{target}"


def _testcase(record: CaseRecord) -> ET.Element:
    case = ET.Element("testcase", classname=_group(record), name=_text(record.case))
    case.set("time", f"{record.duration_s:.3f}")
    outcome = {"fail": "failure", "skip": "skipped", "infra": "error"}.get(record.state)
    if outcome is not None:
        element = ET.SubElement(case, outcome, message=_text(record.message))
        if outcome != "skipped":
            element.text = _text(record.details)
    if record.details:
        ET.SubElement(case, "system-out").text = _text(record.details)
    return case


def _counts(element: ET.Element, records: list[CaseRecord]) -> None:
    states = [record.state for record in records]
    element.set("tests", str(len(records)))
    element.set("failures", str(states.count("fail")))
    element.set("errors", str(states.count("infra")))
    element.set("skipped", str(states.count("skip")))
    element.set("time", f"{sum(record.duration_s for record in records):.3f}")


def _junit_tree(
    records: Iterable[CaseRecord], status: RunStatus, properties: dict[str, str]
) -> ET.ElementTree:
    """The <testsuites> document for the records, suites in first-seen order; each suite's
    properties say what ran it (the lab, the kernel, the tools: 'ARCH.name' properties go
    to that arch's suites only) and whether the run is incomplete."""
    records = list(records)
    groups: dict[tuple[str, str], list[CaseRecord]] = {}
    for record in records:
        groups.setdefault((record.arch, _group(record)), []).append(record)
    arches = {arch for arch, _ in groups}
    root = ET.Element("testsuites", name="faultlab")
    _counts(root, records)
    for (arch, name), members in groups.items():
        element = ET.SubElement(root, "testsuite", name=_text(name))
        _counts(element, members)
        own = {
            name.removeprefix(f"{arch}."): value
            for name, value in properties.items()
            if name.partition(".")[0] not in arches or name.startswith(f"{arch}.")
        }
        if not status.complete:
            own |= {"complete": "false", "interrupted": status.interrupted}
        if own:
            listed = ET.SubElement(element, "properties")
            for name, value in own.items():
                ET.SubElement(listed, "property", name=name, value=_text(value))
        element.extend(_testcase(record) for record in members)
    tree = ET.ElementTree(root)
    ET.indent(tree)
    return tree


def write_junit(
    records: Iterable[CaseRecord],
    path: Path,
    status: RunStatus = COMPLETE,
    properties: dict[str, str] | None = None,
) -> None:
    """Replace `path` whole with the records as a JUnit XML file."""
    buffer = io.BytesIO()
    tree = _junit_tree(records, status, properties or {})
    tree.write(buffer, encoding="utf-8", xml_declaration=True)
    files.write_bytes(path, buffer.getvalue())
