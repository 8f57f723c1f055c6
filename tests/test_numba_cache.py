"""numba's on-disk cache as spikeflow keys it: never stale after an edit of a module a kernel
compiles in, shared by processes that compile at the same time."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from spikeflow._numba_cache import source_stamp

stamp = source_stamp.__wrapped__  # not memoised: the tests edit files

# A kernel (outer) that calls a jitted function of another module (inner), which reads a constant
# of a third module: numba compiles both into outer's cached machine code.
PACKAGE = {
    "__init__.py": "",
    "consts.py": "OFFSET = 1\n",
    "helper.py": (
        "from spikeflow._numba_cache import njit\n"
        "from .consts import OFFSET\n\n\n"
        "@njit()\n"
        "def inner(x):\n"
        "    return x + OFFSET\n"
    ),
    "kernel.py": (
        "from spikeflow._numba_cache import njit\n"
        "from sfcache_demo.helper import inner\n\n\n"
        "@njit()\n"
        "def outer(x):\n"
        "    return inner(x) * 2\n"
    ),
    "unrelated.py": "VALUE = 1\n",
}

# prints outer(1) and this process's compiles (cache misses) of outer; waits for the file argv[2]
# (when given) after writing argv[1], so that two processes start compiling together
RUN = """
import sys, time
from pathlib import Path
import sfcache_demo.kernel as k
if len(sys.argv) > 2:
    Path(sys.argv[1]).touch()
    while not Path(sys.argv[2]).exists():
        time.sleep(0.005)
print(k.outer(1), sum(k.outer.stats.cache_misses.values()))
"""


def _package(tmp_path: Path) -> Path:
    root = tmp_path / "sfcache_demo"
    root.mkdir()
    for name, text in PACKAGE.items():
        (root / name).write_text(text)
    return root


def _env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), *sys.path]))
    env.pop("NUMBA_CACHE_DIR", None)  # the cache lies next to the sources (__pycache__)
    return env


def _run(tmp_path: Path) -> tuple[int, int]:
    out = subprocess.run(
        [sys.executable, "-c", RUN], env=_env(tmp_path), capture_output=True, text=True, check=True
    )
    value, misses = out.stdout.split()
    return int(value), int(misses)


def test_stamp_covers_the_modules_imported_transitively(tmp_path):
    root = _package(tmp_path)
    kernel = root / "kernel.py"
    before = stamp(kernel, root)
    (root / "unrelated.py").write_text("VALUE = 2\n")
    assert stamp(kernel, root) == before
    (root / "consts.py").write_text("OFFSET = 2\n")  # imported by helper, which kernel imports
    assert stamp(kernel, root) != before


def test_stamp_of_a_module_outside_a_package_is_its_own_source(tmp_path):
    mod = tmp_path / "alone.py"
    mod.write_text("import os\n")
    before = stamp(mod, mod)
    mod.write_text("import sys\n")
    assert stamp(mod, mod) != before


def test_cache_is_reused_and_recompiled_after_an_edit_of_an_inlined_module(tmp_path):
    root = _package(tmp_path)
    assert _run(tmp_path) == (4, 1)  # compiled
    assert _run(tmp_path) == (4, 0)  # loaded from the cache
    (root / "consts.py").write_text("OFFSET = 2\n")
    assert _run(tmp_path) == (6, 1)  # plain numba.njit(cache=True) loads the stale 4 here


def test_processes_compiling_together_compile_once(tmp_path):
    _package(tmp_path)
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", RUN, str(tmp_path / f"ready{i}"), str(go)],
            env=_env(tmp_path),
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    deadline = time.monotonic() + 300
    while not all((tmp_path / f"ready{i}").exists() for i in range(2)):
        assert time.monotonic() < deadline and all(p.poll() is None for p in procs)
        time.sleep(0.01)
    go.touch()
    results = [p.communicate(timeout=300)[0].split() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert [int(value) for value, _ in results] == [4, 4]
    assert sorted(int(misses) for _, misses in results) == [0, 1]


@pytest.mark.parametrize("edit", ["kernel.py", "helper.py"])
def test_stamp_changes_with_the_module_itself_and_its_direct_imports(tmp_path, edit):
    root = _package(tmp_path)
    before = stamp(root / "kernel.py", root)
    (root / edit).write_text((root / edit).read_text() + "\n# edited\n")
    assert stamp(root / "kernel.py", root) != before
