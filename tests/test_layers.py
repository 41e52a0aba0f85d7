"""The package's layers: data flows down this list and imports never run back up.

Read from the source with `ast`, so every import counts: at the top of a module, inside a
function, or under TYPE_CHECKING.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "lab"

# Lowest first. Modules of one layer may import each other.
LAYERS: tuple[tuple[str, ...], ...] = (
    (
        "lab",
        "lab.errors",
        "lab.exitcodes",
        "lab.files",
        "lab.paths",
        "lab.proc",
        "lab.progress",
        "lab.scratch",
        "lab.terminal",
        "lab.version",
    ),
    ("lab.arch",),
    ("lab.results",),
    ("lab.suites",),
    ("lab.kernel",),
    ("lab.peers", "lab.image"),
    ("lab.transport",),
    ("lab.vm",),
    ("lab.run",),
    ("lab.remote",),
    ("lab.history",),
    ("lab.report",),
    ("lab.bisect", "lab.nightly"),
    ("lab.runtime",),
    ("lab.cli", "lab.__main__", "lab.doctor"),
)


def layer_of(module: str) -> int:
    """The layer of a module: that of the longest layer name that is it or contains it."""
    best, depth = -1, -1
    for index, names in enumerate(LAYERS):
        for name in names:
            if (module == name or module.startswith(name + ".")) and name.count(".") > depth:
                best, depth = index, name.count(".")
    if best < 0 or (depth == 0 and module != "lab"):
        raise LookupError(f"{module} is in no layer: add it to LAYERS")
    return best


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> list[tuple[int, str]]:
    """(line, module) for every import of a lab module in the file."""
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            if name == "lab":  # `from lab import paths`: the modules themselves
                found += [(node.lineno, f"lab.{a.name}") for a in node.names]
            else:
                found.append((node.lineno, name))
    return [(line, name) for line, name in found if name == "lab" or name.startswith("lab.")]


def upward_imports() -> list[str]:
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        importer = module_name(path)
        for line, imported in imports_of(path):
            if layer_of(imported) > layer_of(importer):
                problems.append(
                    f"{path.relative_to(PACKAGE.parent)}:{line}: {importer} "
                    f"(layer {layer_of(importer)}) imports {imported} "
                    f"(layer {layer_of(imported)})"
                )
    return problems


def test_every_module_has_a_layer():
    for path in PACKAGE.rglob("*.py"):
        layer_of(module_name(path))


def test_no_import_runs_back_up():
    problems = upward_imports()
    assert not problems, "imports from a lower layer to a higher one:\n" + "\n".join(problems)


@pytest.mark.parametrize(
    ("module", "layer"),
    [
        ("lab", 0),
        ("lab.errors", 0),
        ("lab.arch.accel", 1),
        ("lab.run.lab_run", 8),
        ("lab.cli", 14),
        ("lab.runtime.pool", 13),
    ],
)
def test_layer_of(module, layer):
    assert layer_of(module) == layer


def test_a_module_outside_the_layers_is_refused():
    with pytest.raises(LookupError, match=r"lab\.stray is in no layer"):
        layer_of("lab.stray")
