"""JUnit XML for CI: one <testsuite> per (arch, suite), one <testcase> per record."""

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


def _testcase(record: CaseRecord) -> ET.Element:
    classname = f"{record.arch}.{record.suite}"
    case = ET.Element("testcase", classname=classname, name=_text(record.case))
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


def _junit_tree(records: Iterable[CaseRecord], status: RunStatus) -> ET.ElementTree:
    """The <testsuites> document for the records, suites in first-seen order; an incomplete
    run says so in properties of every suite."""
    records = list(records)
    groups: dict[tuple[str, str], list[CaseRecord]] = {}
    for record in records:
        groups.setdefault((record.arch, record.suite), []).append(record)
    root = ET.Element("testsuites", name="faultlab")
    _counts(root, records)
    for (arch, suite), members in groups.items():
        element = ET.SubElement(root, "testsuite", name=f"{arch}.{suite}")
        _counts(element, members)
        if not status.complete:
            properties = ET.SubElement(element, "properties")
            ET.SubElement(properties, "property", name="complete", value="false")
            ET.SubElement(properties, "property", name="interrupted", value=status.interrupted)
        element.extend(_testcase(record) for record in members)
    tree = ET.ElementTree(root)
    ET.indent(tree)
    return tree


def write_junit(records: Iterable[CaseRecord], path: Path, status: RunStatus = COMPLETE) -> None:
    """Replace `path` whole with the records as a JUnit XML file."""
    buffer = io.BytesIO()
    _junit_tree(records, status).write(buffer, encoding="utf-8", xml_declaration=True)
    files.write_bytes(path, buffer.getvalue())
