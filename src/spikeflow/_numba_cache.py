"""numba's on-disk cache keyed on every source a kernel may have compiled in, and shared safely
by processes that compile at the same time.

numba keys a function's cache on its own file: a kernel that calls a jitted function of another
module (whose code is then compiled into the kernel) or reads a constant from it keeps running the
old code after that module is edited. :func:`njit` keys the cache on the source of the function's
module and of every module of the same top-level package that it imports, transitively (read from
the import statements, so constants and ``overload`` helpers count too). Editing any of them
recompiles; editing anything else does not.

Processes sharing the cache (pytest-xdist workers) compile each variant once: a compile holds an
exclusive ``flock`` on the function's cache (released by the OS if the process dies), so a second
process that needs the same variant waits, then loads the first one's result; and no process reads
the cache index while another rewrites it.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import hashlib
import importlib.util
import inspect
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numba
from numba.core.caching import FunctionCache, IndexDataCacheFile
from numba.core.compiler_lock import global_compiler_lock
from numba.core.dispatcher import Dispatcher

try:
    import fcntl
except ImportError:  # Windows: numba's cache without the cross-process lock
    fcntl = None  # type: ignore[assignment]


def _module_file(root: Path, name: str) -> Path | None:
    """The file of module ``name`` (dotted, starting with ``root``'s package name), or ``None``
    where ``name`` is not a module of that package (an attribute, another package)."""
    parts = name.split(".")
    if parts[0] != root.name:
        return None
    base = root.joinpath(*parts[1:])
    for path in (base / "__init__.py", base.with_suffix(".py")):
        if path.is_file():
            return path
    return None


def _imports(root: Path, path: Path) -> set[Path]:
    """The files of ``root``'s package that the module at ``path`` imports, anywhere in its source:
    ``import a.b`` counts ``a.b``; ``from a import b`` counts ``a.b`` where it is a module, else
    ``a`` (whose ``__init__`` binds ``b``)."""
    package = ".".join(path.relative_to(root.parent).parts[:-1])  # what ``from .`` names
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_bytes())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = importlib.util.resolve_name("." * node.level + base, package)
            for alias in node.names:  # a submodule, else a name bound in ``base`` itself
                sub = f"{base}.{alias.name}"
                names.add(sub if _module_file(root, sub) else base)
    return {p for p in (_module_file(root, n) for n in names) if p is not None}


@functools.cache
def source_stamp(path: Path, root: Path) -> str:
    """SHA-256 of the module at ``path`` and of every module of the package at ``root`` that it
    imports, transitively (their paths and bytes, in path order).

    Arguments:
        path: the module's source file.
        root: the directory of its top-level package (``.../spikeflow``); the file itself for
            a module outside any package (then only that file counts).

    Returns:
        The hex digest; it changes when any of those files changes.
    """
    seen: set[Path] = set()
    todo = [path]
    while todo:
        p = todo.pop()
        if p not in seen:
            seen.add(p)
            todo.extend(_imports(root, p) if root.is_dir() and p.is_relative_to(root) else ())
    digest = hashlib.sha256()
    for p in sorted(seen):
        digest.update(str(p).encode() + b"\0" + p.read_bytes() + b"\0")
    return digest.hexdigest()


class _SourceCache(FunctionCache):
    """numba's per-function cache with :func:`source_stamp` as the freshness stamp of its index,
    and :meth:`exclusive` to hold it across a compile."""

    def __init__(self, py_func: Callable[..., Any]) -> None:
        super().__init__(py_func)
        path = Path(inspect.getfile(py_func)).resolve()
        top = sys.modules[py_func.__module__.partition(".")[0]]
        # the top-level package's directory; a plain module is keyed on its own file alone
        root = path
        if hasattr(top, "__path__") and top.__file__ is not None:
            root = Path(top.__file__).resolve().parent
        self._cache_file = IndexDataCacheFile(
            cache_path=self._cache_path,
            filename_base=self._impl.filename_base,
            source_stamp=source_stamp(path, root),
        )
        self._lock_path = os.path.join(self._cache_path, self._impl.filename_base + ".lock")
        self._held = False

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold this function's cache alone: numba's compiler lock (one thread of this process),
        then an exclusive ``flock`` (one process). Re-entrant; without a writable cache directory
        (numba then saves nothing) or ``fcntl``, only the compiler lock."""
        with global_compiler_lock:
            if self._held or fcntl is None:
                yield
                return
            try:
                self._impl.locator.ensure_cache_path()
                fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o666)
            except OSError:
                yield
                return
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                self._held = True
                yield
            finally:
                self._held = False
                os.close(fd)


def njit(**options: Any) -> Callable[[Callable[..., Any]], Any]:
    """``numba.njit(**options)`` with the on-disk cache of this module (always on).

    Arguments:
        options: numba's options (``parallel``, ``error_model``, ``inline``, ...).

    Returns:
        A decorator that turns a Python function into a numba dispatcher.
    """

    def decorate(py_func: Callable[..., Any]) -> Any:
        jitted = numba.njit(**options)(py_func)
        if not isinstance(jitted, Dispatcher):  # NUMBA_DISABLE_JIT=1: the plain function
            return jitted
        dispatcher: Any = jitted  # numba's private cache and compile hooks, set below
        cache = _SourceCache(py_func)
        dispatcher._cache = cache
        compile_ = dispatcher.compile

        @functools.wraps(compile_)
        def compile(sig: Any) -> Any:
            with cache.exclusive():
                return compile_(sig)

        dispatcher.compile = compile
        return dispatcher

    return decorate
