"""The lab's own kernel modules (testsuites/<suite>/module/), built with every kernel.

They are built out of tree (M=) in the kernel's build tree right after the kernel, so they
always match it, and installed with its modules (lib/modules/<release>/extra/). Their
sources are part of the build's cache key.
"""

import hashlib
import shutil
from pathlib import Path

from lab import paths, proc
from lab.errors import BuildError

SCRATCH = "extmod"  # in the build tree's root: a copy of each module's sources and objects
INSTALL_DIR = "extra"  # under lib/modules/<release>/, where the suites' setup commands look


def module_dirs(root: Path = paths.TESTSUITES_DIR) -> list[Path]:
    """Every module folder of the suites (a folder with a Kbuild file)."""
    return sorted(kbuild.parent for kbuild in root.glob("*/module/Kbuild"))


def module_inputs(directory: Path) -> list[Path]:
    """A module's files and the headers it shares with its suite (../*.h)."""
    return sorted(
        [*(p for p in directory.rglob("*") if p.is_file()), *directory.parent.glob("*.h")]
    )


def sources_digest(dirs: list[Path]) -> dict[str, str]:
    """sha256 of each module's inputs, by suite name: part of the kernel build key."""
    digests = {}
    for directory in dirs:
        h = hashlib.sha256()
        for f in module_inputs(directory):
            h.update(f"{f.relative_to(directory.parent)}\0".encode())
            h.update(f.read_bytes())
        digests[directory.parent.name] = h.hexdigest()
    return digests


def staged(tree_root: Path, directory: Path) -> Path:
    """A fresh copy of a module's inputs in the build tree, where kbuild writes objects;
    the module folder of that copy."""
    suite = tree_root / SCRATCH / directory.parent.name
    shutil.rmtree(suite, ignore_errors=True)
    for f in module_inputs(directory):
        dest = suite / f.relative_to(directory.parent)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(f, dest)
    return suite / directory.name


def build_modules(
    make_argv: list[str], env: dict[str, str], tree_root: Path, dirs: list[Path], log: Path
) -> list[Path]:
    """Build each module against the kernel just built (`make_argv`: its make command
    without targets); the staged folders, for install_modules()."""
    built = []
    for directory in dirs:
        stage = staged(tree_root, directory)
        result = proc.run([*make_argv, f"M={stage}", "modules"], env=env, check=False)
        with open(log, "a") as f:
            f.write(result.stdout)
        if result.returncode != 0:
            errors = [
                line
                for line in result.stdout.splitlines()
                if ": error:" in line or ": warning:" in line
            ]
            raise BuildError(
                f"lab module {directory} does not build\n"
                + "\n".join(errors[:30] or result.stdout.splitlines()[-30:]),
                log=log,
            )
        built.append(stage)
    return built


def install_modules(
    make_argv: list[str], env: dict[str, str], staged_dirs: list[Path], dest: Path
) -> None:
    """Install the built modules with the kernel's, under dest/lib/modules/<release>/extra/
    (the folder named explicitly: kbuild's default for external modules became updates/)."""
    for stage in staged_dirs:
        proc.run(
            [
                *make_argv,
                f"M={stage}",
                "modules_install",
                f"INSTALL_MOD_PATH={dest}",
                f"INSTALL_MOD_DIR={INSTALL_DIR}",
                "INSTALL_MOD_STRIP=1",
                "DEPMOD=true",
            ],
            env=env,
        )
        names = [ko.name for ko in stage.glob("*.ko")]
        missing = [n for n in names if not list(dest.glob(f"lib/modules/*/{INSTALL_DIR}/{n}"))]
        if missing:
            raise BuildError(
                f"lab module {', '.join(missing)} was not installed under "
                f"{dest}/lib/modules/<release>/{INSTALL_DIR}/"
            )
