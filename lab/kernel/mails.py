"""The mails of an mbox as a patch series sees them: subject, message-id, revision, number,
and whether the mail carries a diff; and whether the mbox is a plain series or a thread.

A plain series is what `git format-patch` makes and `git am` applies: every mail a patch,
all of one revision, each number once. Anything else (a cover letter, a review reply, a
second revision, a patch sent twice) is a mailing-list thread, for b4 to pick from.
"""

import email.policy
import re
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

from lab import proc
from lab.scratch import scratch_dir

# The bracketed prefix of a patch subject: '[PATCH v2 3/7]', '[RFC PATCH 1/2]', '[PATCHv3]'.
PREFIX = re.compile(r"^\s*\[([^\]]*PATCH[^\]]*)\]", re.IGNORECASE)
REPLY = re.compile(r"^\s*(re|aw|sv|antw)\s*:", re.IGNORECASE)
DIFF = re.compile(r"^(diff --git |--- \S.*\n\+\+\+ \S)", re.MULTILINE)


@dataclass(frozen=True)
class Mail:
    """One mail of an mbox."""

    subject: str
    message_id: str
    has_diff: bool

    @property
    def is_reply(self) -> bool:
        return bool(REPLY.match(self.subject))

    @property
    def revision(self) -> int:
        """The N of 'vN' in the subject's [PATCH ...] prefix; 1 without one."""
        prefix = PREFIX.match(self.subject)
        found = re.search(r"\bv(\d+)\b", prefix[1], re.IGNORECASE) if prefix else None
        if not found and prefix:  # '[PATCHv2 1/3]'
            found = re.search(r"PATCHv(\d+)", prefix[1], re.IGNORECASE)
        return int(found[1]) if found else 1

    @property
    def position(self) -> tuple[int, int] | None:
        """(number, total) from 'k/n' in the [PATCH ...] prefix; None without one."""
        prefix = PREFIX.match(self.subject)
        found = re.search(r"\b(\d+)/(\d+)\b", prefix[1]) if prefix else None
        return (int(found[1]), int(found[2])) if found else None


def read_mails(path: Path) -> list[Mail]:
    """The mails of an mbox file, in order, split as `git am` splits them (git mailsplit)."""
    with scratch_dir("mails") as folder:
        proc.run(["git", "mailsplit", f"-o{folder}", str(path)])
        return [read_mail(file) for file in sorted(folder.iterdir())]


def read_mail(file: Path) -> Mail:
    """One mail of a file."""
    with open(file, "rb") as f:
        message = email.message_from_binary_file(f, policy=email.policy.default)
    return Mail(
        " ".join(str(message.get("Subject", "")).split()),
        str(message.get("Message-ID", "")).strip().strip("<>"),
        bool(DIFF.search(body_text(message))),
    )


def body_text(message: EmailMessage) -> str:
    """The text parts of a mail, decoded (a patch may be sent as an attachment)."""
    parts = []
    for part in message.walk():
        if part.is_multipart() or part.get_content_maintype() not in ("text", "application"):
            continue
        payload = part.get_payload(decode=True) or b""
        parts.append(payload.decode(part.get_content_charset() or "utf-8", errors="replace"))
    return "\n".join(parts)


def is_thread(mails: list[Mail]) -> bool:
    """True unless every mail is a patch (a diff, not a reply), all of one revision, each
    number once."""
    if any(m.is_reply or not m.has_diff for m in mails):
        return True
    numbers = [m.position[0] for m in mails if m.position]
    return len({m.revision for m in mails}) > 1 or len(set(numbers)) != len(numbers)
