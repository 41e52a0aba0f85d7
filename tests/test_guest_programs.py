"""Guest programs are rebuilt when a header they include changes, not only their source."""

from pathlib import Path

import pytest

from lab.arch import get_arch
from lab.image.guest_programs import compile_program, headers_for
from lab.paths import TESTSUITES_DIR


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAULTLAB_CACHE", str(tmp_path / "cache"))


def test_suites_share_the_ktap_header():
    smoke = TESTSUITES_DIR / "smoke" / "smoke.c"
    assert TESTSUITES_DIR / "lib" / "ktap.h" in headers_for(smoke)
    assert '#include "../lib/ktap.h"' in smoke.read_text()


def test_a_changed_header_gives_a_new_binary(tmp_path: Path):
    source, header = tmp_path / "prog.c", tmp_path / "value.h"
    source.write_text('#include "value.h"\nint main(void) { return VALUE; }\n')
    header.write_text("#define VALUE 3\n")
    first = compile_program(get_arch("x86_64"), source, "prog")
    header.write_text("#define VALUE 4\n")
    second = compile_program(get_arch("x86_64"), source, "prog")
    assert first != second and first.exists() and second.exists()
