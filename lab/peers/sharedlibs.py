"""The files a dynamically linked host executable loads, as the host's dynamic linker
resolves them (ldd): its ELF interpreter and every shared library, transitively. Shipped at
the same paths, they let the executable run in a guest that has no libc of its own."""

import re
from pathlib import Path

from lab import proc
from lab.errors import BuildError, UsageError
from lab.kernel.toolchain import require

# "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)", the interpreter as
# "/lib64/ld-linux-x86-64.so.2 (0x...)", and "libfoo.so.1 => not found".
_RESOLVED = re.compile(r"^\s*(?:\S+ => )?(/\S+) \(0x[0-9a-f]+\)$", re.M)
_NOT_FOUND = re.compile(r"^\s*(\S+) => not found$", re.M)


def runtime_files(executable: Path) -> dict[str, Path]:
    """Guest path (without the leading '/') -> host file, for everything `executable` loads;
    a library the dynamic linker cannot find is a BuildError naming it."""
    try:
        ldd = proc.output([require("ldd"), str(executable)])
    except UsageError as e:
        raise BuildError(str(e)) from e
    except proc.CommandError as e:
        raise BuildError(f"ldd cannot resolve the libraries of {executable}:\n{e}") from e
    if missing := _NOT_FOUND.findall(ldd):
        raise BuildError(
            f"{executable} needs {', '.join(missing)}, which the host's dynamic "
            "linker does not find"
        )
    return {path.lstrip("/"): Path(path).resolve() for path in _RESOLVED.findall(ldd)}
