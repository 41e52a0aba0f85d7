"""KmsgCursor on a real /dev/kmsg recording: a reconnected agent re-reads the whole ring
buffer, and the lab keeps only what it has not read."""

from pathlib import Path

from lab.results.oracle import parse_kmsg
from lab.transport.kmsg import KmsgCursor, record_seq

KMSG = (Path(__file__).parent / "data" / "kmsg" / "lkdtm-x86_64.kmsg").read_text()


def split_at_record(text: str, seq: int) -> tuple[str, str]:
    """The records up to `seq` (with their continuation lines), and the rest."""
    lines = text.splitlines(keepends=True)
    cut = next(i for i, line in enumerate(lines) if record_seq(line) == seq + 1)
    return "".join(lines[:cut]), "".join(lines[cut:])


def test_a_second_read_of_the_same_buffer_yields_nothing():
    cursor = KmsgCursor()
    assert cursor.take(KMSG) == KMSG
    assert cursor.take(KMSG) == ""


def test_after_a_reconnect_only_the_new_records_come_back_with_their_continuations():
    first, rest = split_at_record(KMSG, 99)
    cursor = KmsgCursor()
    assert cursor.take(first) == first
    assert cursor.last_seq == 99
    assert cursor.take(KMSG) == rest  # the new agent starts from the oldest record
    assert " SUBSYSTEM=pci_bus\n" in rest
    assert len(parse_kmsg(first)) + len(parse_kmsg(rest)) == len(parse_kmsg(KMSG))


def test_record_seq_reads_the_second_field_only_of_record_lines():
    assert record_seq("6,1,0,-;Command line: console=ttyS0") == 1
    assert record_seq(" SUBSYSTEM=pci_bus") is None
    assert record_seq("garbage") is None
