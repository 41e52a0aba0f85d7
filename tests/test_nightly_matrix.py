"""The nightly matrix file: the default one, series and extra cells, and every bad input."""

from pathlib import Path

import pytest

from lab import paths
from lab.errors import UsageError
from lab.nightly.matrix import DEFAULT_MATRIX, BuildSpec, load_matrix
from lab.suites.catalogue import all_suites


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "matrix.toml"
    path.write_text(text)
    return path


def test_the_default_matrix_runs_both_debian_kernels_everywhere_and_a_debug_kernel():
    matrix = load_matrix(DEFAULT_MATRIX)
    assert matrix.name == "default"
    assert matrix.history is None
    tiny = [c for c in matrix.cells if c.flavour == "tiny"]
    assert [c.key for c in tiny] == [
        f"{kernel}/{variant}/{pressure}"
        for kernel in ("debian-6.1", "debian-6.12")
        for variant in ("x86_64", "ppc64", "ppc64-hash")
        for pressure in ("none", "heavy")
    ]
    assert {c.suites for c in tiny} == {tuple(all_suites())}
    assert {(c.duration_s, c.repeat, c.series) for c in matrix.cells} == {(0, 1, "")}
    debug = [c for c in matrix.cells if c.flavour == "debug"]
    assert [c.key for c in debug] == ["debian-6.1-debug/x86_64/none", "debian-6.1-debug/ppc64/none"]
    assert [c.suites for c in debug] == [
        ("smoke", "fault", "nonlinear", "nopfn"),
        ("smoke", "fault", "nopfn"),
    ]
    assert len(matrix.cells) == 14
    hashed = matrix.cell("debian-6.1/ppc64-hash/heavy")
    assert (hashed.arch, hashed.mmu, hashed.variant) == ("ppc64", "hash", "ppc64-hash")
    assert (
        matrix.cell("debian-6.1/ppc64/none").mmu,
        matrix.cell("debian-6.1/x86_64/none").mmu,
    ) == ("radix", "")


def test_ppc64_and_ppc64_hash_share_one_build():
    matrix = load_matrix(DEFAULT_MATRIX)
    assert matrix.builds() == (
        BuildSpec("debian-6.1", "", "x86_64"),
        BuildSpec("debian-6.1", "", "ppc64"),
        BuildSpec("debian-6.12", "", "x86_64"),
        BuildSpec("debian-6.12", "", "ppc64"),
        BuildSpec("debian-6.1", "", "x86_64", "debug"),
        BuildSpec("debian-6.1", "", "ppc64", "debug"),
    )
    assert (
        matrix.cell("debian-6.12/ppc64/none").build
        == matrix.cell("debian-6.12/ppc64-hash/heavy").build
    )


def test_series_kernel_settings_and_cells(tmp_path):
    path = write(
        tmp_path,
        """
        name = "selftest"
        history = "hist/nightly.sqlite"
        [defaults]
        arches = ["x86_64", "ppc64-hash"]
        pressure = "none"
        [[kernels]]
        source = "debian-6.1"
        series = ["", "patches/selftest/remap-drops-mlock"]
        suites = ["nonlinear", "smoke"]
        [[kernels]]
        name = "newer"
        source = "debian-6.12"
        arches = ["ppc64"]
        pressure = ["none", "light"]
        repeat = 2
        [[cells]]
        kernel = "debian-6.1+remap-drops-mlock"
        arch = "ppc64-hash"
        pressure = "none"
        suites = ["nonlinear"]
        repeat = 3
        [[cells]]
        kernel = "newer"
        arch = "ppc64"
        pressure = "heavy"
        duration = "10m"
    """,
    )
    matrix = load_matrix(path)
    assert (matrix.name, matrix.history) == ("selftest", tmp_path / "hist" / "nightly.sqlite")
    assert [c.key for c in matrix.cells] == [
        "debian-6.1/x86_64/none",
        "debian-6.1/ppc64-hash/none",
        "debian-6.1+remap-drops-mlock/x86_64/none",
        "debian-6.1+remap-drops-mlock/ppc64-hash/none",
        "newer/ppc64/none",
        "newer/ppc64/light",
        "newer/ppc64/heavy/600s",
    ]
    replaced = matrix.cell("debian-6.1+remap-drops-mlock/ppc64-hash/none")
    assert (replaced.suites, replaced.repeat, replaced.series) == (
        ("nonlinear",),
        3,
        "patches/selftest/remap-drops-mlock",
    )
    assert matrix.cell("debian-6.1/x86_64/none").suites == ("nonlinear", "smoke")
    soak = matrix.cell("newer/ppc64/heavy/600s")
    assert (soak.source, soak.duration_s, soak.repeat, soak.suites) == (
        "debian-6.12",
        600,
        2,
        tuple(all_suites()),
    )
    assert [(b.source, b.series, b.arch) for b in matrix.builds()] == [
        ("debian-6.1", "", "x86_64"),
        ("debian-6.1", "", "ppc64"),
        ("debian-6.1", "patches/selftest/remap-drops-mlock", "x86_64"),
        ("debian-6.1", "patches/selftest/remap-drops-mlock", "ppc64"),
        ("debian-6.12", "", "ppc64"),
    ]
    request = matrix.builds()[2].request(jobs=3)
    assert (request.arch.name, request.source, request.series, request.jobs) == (
        "x86_64",
        "debian-6.1",
        paths.PROJECT_ROOT / "patches/selftest/remap-drops-mlock",
        3,
    )
    assert matrix.builds()[0].request().series is None


KERNEL = '[[kernels]]\nsource = "debian-6.1"\n'


@pytest.mark.parametrize(
    ("text", "where", "culprit"),
    [
        (
            '[[kernels]]\nsource = "debian-5.10"\n',
            "[[kernels]] #1 (debian-5.10)",
            "unknown kernel source 'debian-5.10'",
        ),
        ('[[kernels]]\nname = "x"\n', "[[kernels]] #1 (x)", "a kernel needs a source"),
        (
            KERNEL + 'arches = ["x86_64", "sparc"]\n',
            "[[kernels]] #1 (debian-6.1)",
            "unknown arch 'sparc'",
        ),
        (
            '[defaults]\narches = ["ppc64-radix"]\n' + KERNEL,
            "[[kernels]] #1 (debian-6.1)",
            "unknown arch 'ppc64-radix'",
        ),
        (
            KERNEL + 'suites = ["fault", "mremap"]\n',
            "[[kernels]] #1 (debian-6.1)",
            "unknown suite 'mremap'",
        ),
        (
            KERNEL + 'pressure = ["none", "crushing"]\n',
            "[[kernels]] #1 (debian-6.1)",
            "unknown pressure profile 'crushing'",
        ),
        (
            KERNEL + 'series = ["patches/selftest/no-such-series"]\n',
            "[[kernels]] #1 (debian-6.1)",
            "patches/selftest/no-such-series not found",
        ),
        (
            KERNEL + 'duration = "10 minutes"\n',
            "[[kernels]] #1 (debian-6.1)",
            "bad duration '10 minutes'",
        ),
        (
            '[defaults]\nduration = "1d"\n' + KERNEL,
            "[[kernels]] #1 (debian-6.1)",
            "bad duration '1d'",
        ),
        (KERNEL + "repeat = 0\n", "[[kernels]] #1 (debian-6.1)", "repeat must be a whole number"),
        (KERNEL + 'arch = "x86_64"\n', "[[kernels]] #1 (debian-6.1)", "unknown keys ['arch']"),
        ('[defaults]\nkernel = "x"\n' + KERNEL, "[defaults]", "unknown keys ['kernel']"),
        ('matrix = "x"\n' + KERNEL, "top level", "unknown keys ['matrix']"),
        (KERNEL + KERNEL, "[[kernels]] #2 (debian-6.1)", "kernel debian-6.1 is already defined"),
        (
            KERNEL + 'arches = ["x86_64", "x86_64"]\n',
            "[[kernels]] #1 (debian-6.1)",
            "cell debian-6.1/x86_64/none is listed twice",
        ),
        (
            KERNEL + '[[cells]]\nkernel = "debian-6.12"\narch = "x86_64"\npressure = "none"\n',
            "[[cells]] #1 (debian-6.12/x86_64/none)",
            "unknown kernel 'debian-6.12'",
        ),
        (
            KERNEL
            + '[[cells]]\nkernel = "debian-6.1"\narch = "ppc64-hash"\npressure = "inject!"\n',
            "[[cells]] #1 (debian-6.1/ppc64-hash/inject!)",
            "unknown pressure profile 'inject!'",
        ),
        (
            KERNEL + '[[cells]]\nkernel = "debian-6.1"\narch = ["x86_64"]\npressure = "none"\n',
            "[[cells]] #1 (debian-6.1/['x86_64']/none)",
            "a cell needs one arch",
        ),
        (
            KERNEL + '[[cells]]\nkernel = "debian-6.1"\narch = "s390"\npressure = "none"\n',
            "[[cells]] #1 (debian-6.1/s390/none)",
            "unknown arch 's390'",
        ),
        (
            KERNEL + 'flavour = "huge"\n',
            "[[kernels]] #1 (debian-6.1)",
            "unknown config flavour 'huge'",
        ),
        (
            KERNEL
            + '[[cells]]\nkernel = "debian-6.1"\narch = "x86_64"\npressure = "none"\n'
            + 'flavour = "debug"\n',
            "[[cells]] #1 (debian-6.1/x86_64/none)",
            "unknown keys ['flavour']",
        ),
    ],
)
def test_bad_input_names_the_file_the_entry_and_the_culprit(tmp_path, text, where, culprit):
    path = write(tmp_path, text)
    with pytest.raises(UsageError) as error:
        load_matrix(path)
    assert str(error.value).startswith(f"{path}: {where}: ")
    assert culprit in str(error.value)


def test_an_empty_or_unreadable_matrix_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="has no cells"):
        load_matrix(write(tmp_path, 'name = "empty"\n'))
    with pytest.raises(UsageError, match=r"cannot read the matrix .*matrix\.toml"):
        load_matrix(write(tmp_path, "[[kernels]\n"))


def test_a_series_tried_in_one_cell_keeps_the_cells_key_and_changes_its_build(tmp_path):
    path = tmp_path / "tonight.toml"
    path.write_text(
        KERNEL + 'arches = ["x86_64", "ppc64"]\n'
        '[[cells]]\nkernel = "debian-6.1"\narch = "x86_64"\npressure = "none"\n'
        'series = "patches/selftest/remap-drops-mlock"\n'
    )
    matrix = load_matrix(path)
    assert [c.key for c in matrix.cells] == ["debian-6.1/x86_64/none", "debian-6.1/ppc64/none"]
    patched = matrix.cell("debian-6.1/x86_64/none")
    assert (patched.kernel, patched.series) == ("debian-6.1", "patches/selftest/remap-drops-mlock")
    assert matrix.cell("debian-6.1/ppc64/none").series == ""
    assert [(b.series, b.arch) for b in matrix.builds()] == [
        ("patches/selftest/remap-drops-mlock", "x86_64"),
        ("", "ppc64"),
    ]


def test_a_cell_series_that_does_not_exist_is_named(tmp_path):
    path = tmp_path / "tonight.toml"
    path.write_text(
        KERNEL + '[[cells]]\nkernel = "debian-6.1"\narch = "x86_64"\n'
        'pressure = "none"\nseries = "patches/selftest/nope"\n'
    )
    with pytest.raises(UsageError, match=r"\[\[cells\]\] #1 .*patches/selftest/nope"):
        load_matrix(path)


def test_a_flavour_names_its_kernels_and_builds_apart(tmp_path):
    path = write(
        tmp_path,
        """
        [defaults]
        arches = ["x86_64", "ppc64", "ppc64-hash"]
        [[kernels]]
        source = "debian-6.1"
        [[kernels]]
        source = "debian-6.1"
        flavour = "debug"
        arches = ["x86_64", "ppc64-hash"]
        suites = ["fault"]
        [[kernels]]
        source = "debian-6.12"
        name = "newest-full"
        flavour = "full"
        arches = ["x86_64"]
        [[cells]]
        kernel = "debian-6.1-debug"
        arch = "ppc64"
        pressure = "heavy"
        """,
    )
    matrix = load_matrix(path)
    assert [c.key for c in matrix.cells] == [
        "debian-6.1/x86_64/none",
        "debian-6.1/ppc64/none",
        "debian-6.1/ppc64-hash/none",
        "debian-6.1-debug/x86_64/none",
        "debian-6.1-debug/ppc64-hash/none",
        "newest-full/x86_64/none",
        "debian-6.1-debug/ppc64/heavy",
    ]
    assert [c.flavour for c in matrix.cells] == ["tiny"] * 3 + ["debug"] * 2 + ["full", "debug"]
    debug = matrix.cell("debian-6.1-debug/ppc64/heavy")
    assert (debug.source, debug.suites, debug.build) == (
        "debian-6.1",
        ("fault",),
        BuildSpec("debian-6.1", "", "ppc64", "debug"),
    )
    assert matrix.builds() == (
        BuildSpec("debian-6.1", "", "x86_64"),
        BuildSpec("debian-6.1", "", "ppc64"),
        BuildSpec("debian-6.1", "", "x86_64", "debug"),
        BuildSpec("debian-6.1", "", "ppc64", "debug"),
        BuildSpec("debian-6.12", "", "x86_64", "full"),
    )
    assert matrix.builds()[3].request(jobs=1).flavour == "debug"
    assert matrix.builds()[0].request().flavour == "tiny"


def test_a_default_flavour_applies_to_every_kernel(tmp_path):
    matrix = load_matrix(
        write(tmp_path, '[defaults]\nflavour = "debug"\narches = "x86_64"\n' + KERNEL)
    )
    assert [(c.key, c.flavour) for c in matrix.cells] == [("debian-6.1-debug/x86_64/none", "debug")]
