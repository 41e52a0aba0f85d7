"""Line coverage of named kernel functions from gcov data (.gcda from a guest, .gcno and
sources from the coverage build)."""

import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from lab.arch import ArchProfile
from lab.errors import InfraError

# The functions whose coverage the lab reports: the fault, pfn-insert, nonlinear, shmem,
# swap-in and unmap paths the suites target, by the mm/ file that defines them.
TARGETS: dict[str, tuple[str, ...]] = {
    "memory.c": (
        "do_fault",
        "do_read_fault",
        "do_shared_fault",
        "do_cow_fault",
        "do_page_mkwrite",
        "do_fault_around",
        "insert_pfn",
        "do_swap_page",
        "unmap_mapping_range",
    ),
    "filemap.c": ("filemap_map_pages", "filemap_fault"),
    "mmap.c": ("remap_file_pages",),
    "shmem.c": ("shmem_fault",),
}


@dataclass(frozen=True)
class FunctionCoverage:
    """Instrumented lines of one function and how many of them ran."""

    function: str
    file: str
    lines: int
    executed: int

    @property
    def percent(self) -> float:
        return 100.0 * self.executed / self.lines if self.lines else 0.0

    def cell(self) -> str:
        """'87% (52/60)', or 'n/a' for a function gcov knows no lines of."""
        return f"{self.percent:.0f}% ({self.executed}/{self.lines})" if self.lines else "n/a"


def function_range(source: str, name: str) -> tuple[int, int] | None:
    """First and last line (1-based) of the definition of `name` in kernel C source:
    `type name(...)` or `SYSCALL_DEFINEn(name, ...)` at the start of a line, up to the next
    line that is just '}'."""
    start = re.compile(
        rf"^(?:[A-Za-z_][\w \t*]*[ \t*])?{re.escape(name)}\(|"
        rf"^SYSCALL_DEFINE\d\({re.escape(name)},"
    )
    lines = source.splitlines()
    for i, line in enumerate(lines):
        if start.match(line) and not line.rstrip().endswith(";"):
            for j in range(i + 1, len(lines)):
                if lines[j] == "}":
                    return i + 1, j + 1
                if lines[j].rstrip().endswith(";") and j == i + 1:
                    break  # a prototype split over two lines
    return None


def line_counts(gcov_json: dict, source_name: str) -> dict[int, int]:
    """Execution count per instrumented line of `source_name` (counts of a line that several
    functions share, through inlining, are added up)."""
    counts: dict[int, int] = {}
    for entry in gcov_json["files"]:
        if Path(entry["file"]).name != source_name:
            continue
        for line in entry["lines"]:
            number = line["line_number"]
            counts[number] = counts.get(number, 0) + line["count"]
    return counts


def coverage_of(
    source: str, counts: dict[int, int], file: str, names: tuple[str, ...]
) -> list[FunctionCoverage]:
    """Coverage of each named function defined in `source`."""
    result = []
    for name in names:
        span = function_range(source, name)
        lines = executed = 0
        if span:
            in_span = [c for n, c in counts.items() if span[0] <= n <= span[1]]
            lines, executed = len(in_span), sum(1 for c in in_span if c > 0)
        result.append(FunctionCoverage(name, file, lines, executed))
    return result


def run_gcov(arch: ArchProfile, gcda: Path) -> dict:
    """gcov's JSON report of one .gcda file (its .gcno beside it), with the arch's gcov."""
    tool = f"{arch.cross_prefix}gcov"
    done = subprocess.run(
        [tool, "--json-format", "--stdout", "--object-directory", str(gcda.parent), str(gcda)],
        capture_output=True,
        text=True,
        errors="replace",
        stdin=subprocess.DEVNULL,
    )
    if done.returncode != 0:  # its warnings ("source file is newer ...") go to stderr
        raise InfraError(f"{tool} failed on {gcda}: {done.stderr[-1000:]}")
    return json.loads(done.stdout)


def target_coverage(arch: ArchProfile, data_dir: Path, sources: Path) -> list[FunctionCoverage]:
    """Coverage of every target function from the .gcda/.gcno pairs in `data_dir` and the
    mm/ sources in `sources`."""
    result = []
    for file, names in TARGETS.items():
        gcda = data_dir / file.replace(".c", ".gcda")
        if not gcda.exists():
            result += [FunctionCoverage(n, file, 0, 0) for n in names]
            continue
        counts = line_counts(run_gcov(arch, gcda), file)
        result += coverage_of((sources / file).read_text(), counts, file, names)
    return result


def format_table(columns: dict[str, list[FunctionCoverage]]) -> str:
    """A plain-text table: one row per target function, one column per suite."""
    names = [c.function for c in next(iter(columns.values()), [])]
    header = ["function", *columns]
    rows = [[name, *(col[i].cell() for col in columns.values())] for i, name in enumerate(names)]
    widths = [max(len(r[k]) for r in [header, *rows]) for k in range(len(header))]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join(fmt.format(*r) for r in [header, *rows])
