"""A worker that finds a build in the artifact store takes it instead of building it."""

import time

import pytest

from lab.kernel.build import BuildRequest, build_kernel
from lab.runtime.store import DirectoryStore

pytestmark = pytest.mark.integration


def test_a_build_in_the_store_is_taken_not_rebuilt(kernel, arch, tmp_path, monkeypatch):
    store = DirectoryStore(tmp_path / "store")
    store.put_build(kernel.dir)
    monkeypatch.setenv("FAULTLAB_CACHE", str(tmp_path / "cache"))  # a worker's empty cache
    start = time.monotonic()
    build = build_kernel(BuildRequest(arch=arch), store)
    print(
        f"\n{arch.name}: kernel from the store after {time.monotonic() - start:.0f}s "
        "(source, tree and config, no compile)"
    )
    assert build.id == kernel.id
    assert build.dir == tmp_path / "cache" / "builds" / kernel.id
    assert build.boot_image.read_bytes() == kernel.boot_image.read_bytes()
    assert not list((tmp_path / "cache" / "trees").glob("*/build.log"))  # no make ran
