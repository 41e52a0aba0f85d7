"""Running host commands: one place that turns failures into errors that say what failed."""

import subprocess
from collections.abc import Sequence
from pathlib import Path


class CommandError(RuntimeError):
    """A host command failed; carries its output for the error message."""

    def __init__(self, argv: Sequence[str], returncode: int, output: str):
        self.argv = list(argv)
        self.returncode = returncode
        self.output = output
        tail = "\n".join(output.strip().splitlines()[-20:])
        super().__init__(f"{' '.join(self.argv)} exited with {returncode}\n{tail}")


def run(
    argv: Sequence[str],
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    input: str | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run a command, capture stdout and stderr together, raise CommandError on failure."""
    proc = subprocess.run(
        list(argv),
        cwd=cwd,
        env=env,
        input=input,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        stdin=None if input is not None else subprocess.DEVNULL,
    )
    if check and proc.returncode != 0:
        raise CommandError(argv, proc.returncode, proc.stdout)
    return proc


def output(argv: Sequence[str], **kwargs) -> str:
    """Run a command and return its stripped output."""
    return run(argv, **kwargs).stdout.strip()
