"""Raw /dev/kmsg records past a sequence number: a target's kernel log across reconnects.

A new agent's first `@kmsg` returns the whole ring buffer; records the lab has already read
(sequence number at or below the last one seen) are dropped.
"""

from dataclasses import dataclass


@dataclass
class KmsgCursor:
    """The last kernel log sequence number read from one target."""

    last_seq: int = -1

    def take(self, text: str) -> str:
        """The records of `text` (raw kmsg, continuation lines start with a space) newer
        than the cursor; the cursor moves past them."""
        kept: list[str] = []
        keep = False
        for line in text.splitlines(keepends=True):
            if not line.startswith(" "):
                seq = record_seq(line)
                keep = seq is None or seq > self.last_seq
                if seq is not None and keep:
                    self.last_seq = seq
            if keep:
                kept.append(line)
        return "".join(kept)


def record_seq(line: str) -> int | None:
    """The sequence number of a record line '<prio>,<seq>,<ts>,<flags>;text'."""
    head = line.partition(";")[0].split(",")
    if len(head) < 2 or not head[1].isdigit():
        return None
    return int(head[1])
