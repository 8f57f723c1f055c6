"""The audit behind ``make audit``: what of spikeflow's public surface the default suite never ran.

Run after the suite ran under coverage (``--cov=spikeflow --cov-report=json:FILE``) with the flag
recorder (``-p tests.audit.plugin`` and ``SPIKEFLOW_AUDIT_FLAGS=FOLDER``)::

    python -m tests.audit.report --coverage FILE --flags FOLDER

Two lists are printed, and the exit code is 1 if either is not empty:

1. public callables none of whose body lines ran. The public names are each package's
   ``__all__``, or where it has none, the names it re-exports from spikeflow without a leading
   underscore (and, for a plain module such as ``spikeflow.loss``, the ones defined in it), for
   ``spikeflow``, every package under it but ``spikeflow.commands``, the lazily imported modules
   and every module with an ``__all__``. A function is executed when a line of its body (after the
   docstring) ran; a class when a line of any of its own methods ran; each public method of a
   public class (and of the spikeflow classes it inherits from) is a callable of its own. Bodies
   that coverage cannot see (numba kernels, ``@overload`` stubs, abstract methods, classes with
   no method of their own such as NamedTuples and dataclasses) are counted apart, and pass when
   a test file names them or a line that ran inside a spikeflow function does.
2. items of the ``spikeflow`` command (sub-commands, flags, choices of a positional) that no test
   gave in a call of ``spikeflow.cli.main`` that returned 0 (see :mod:`tests.audit.cli_flags`),
   the calls of the hostile-value table (``EXCLUDED_TESTS``) left out.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import inspect
import json
import pkgutil
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import spikeflow
from spikeflow.cli import build_parser
from tests.audit.cli_flags import parser_items

ROOT = Path(__file__).resolve().parents[2]
SRC = Path(spikeflow.__file__).resolve().parent
TESTS = ROOT / "tests"
EXCLUDED_PACKAGES = ("spikeflow.commands",)
#: Calls that do not count for the flag audit: the table of hostile values (and values drawn at
#: random) of tests/reliability/test_cli_flags.py probes what is refused; the values it finds
#: accepted are edge cases, not the use a flag is there for.
EXCLUDED_TESTS = ("tests/reliability/test_cli_flags.py::",)


@dataclass(frozen=True)
class Callable_:
    """One public callable: ``name`` as a user spells it, its source ``file`` and ``node``."""

    name: str
    file: Path
    qualname: str
    node: ast.AST | None  # None: no source of its own (checked by name)
    short: str  # the identifier searched in tests/ when the body cannot be measured


def public_modules() -> list[str]:
    """Returns:
    The modules whose names are public: ``spikeflow``, its packages (not ``commands``), the lazily
    imported modules and the modules with an ``__all__``.
    """
    names = {"spikeflow"}
    names |= {f"spikeflow.{name}" for name in spikeflow._LAZY}
    names |= {"spikeflow.encode", "spikeflow.functional", "spikeflow.nn", "spikeflow.surrogate"}
    for info in pkgutil.walk_packages([str(SRC)], prefix="spikeflow."):
        if any(part.startswith("_") for part in info.name.split(".")):
            continue
        if info.name.startswith(EXCLUDED_PACKAGES):
            continue
        path = SRC.joinpath(*info.name.split(".")[1:])
        source = path / "__init__.py" if info.ispkg else path.with_suffix(".py")
        if info.ispkg or "__all__" in source.read_text():
            names.add(info.name)
    return sorted(n for n in names if not n.startswith(EXCLUDED_PACKAGES))


def public_names(module: ModuleType) -> dict[str, Any]:
    """Returns:
    ``{name: object}`` of the public names of ``module`` (see the module docstring).
    """
    if hasattr(module, "__all__"):
        return {name: getattr(module, name) for name in module.__all__}
    is_package = hasattr(module, "__path__")
    out = {}
    for name, obj in vars(module).items():
        if name.startswith("_") or inspect.ismodule(obj):
            continue
        home = getattr(obj, "__module__", None) or ""
        if (is_package and home.startswith("spikeflow")) or home == module.__name__:
            out[name] = obj
    return out


def _source(obj: Any) -> tuple[Path, list[str]] | None:
    try:
        file = inspect.getsourcefile(obj)
    except TypeError:
        return None
    if file is None or not Path(file).resolve().is_relative_to(SRC):
        return None
    return Path(file).resolve(), obj.__qualname__.split(".")


_TREES: dict[Path, ast.Module] = {}


def _find(file: Path, path: list[str]) -> ast.AST | None:
    if file not in _TREES:
        _TREES[file] = ast.parse(file.read_text())
    node: ast.AST = _TREES[file]
    for part in path:
        found = None
        for child in getattr(node, "body", []):
            kinds = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
            if isinstance(child, kinds) and child.name == part:
                found = child  # the last definition wins, as in Python
        if found is None:
            return None
        node = found
    return node


def _decorators(node: ast.AST) -> set[str]:
    names = set()
    for dec in getattr(node, "decorator_list", []):
        target = dec.func if isinstance(dec, ast.Call) else dec
        names.add(ast.unparse(target).split(".")[-1])
    return names


def callables(module_names: list[str]) -> list[Callable_]:
    """Returns:
    Every public callable of the modules, each once (by the first public name that reaches it),
    and every public method of the public classes (by its defining class's public name).
    """
    found: list[tuple[str, Any]] = []
    for module_name in module_names:
        module = importlib.import_module(module_name)
        for name, obj in sorted(public_names(module).items()):
            if inspect.isfunction(obj) or inspect.isclass(obj) or hasattr(obj, "py_func"):
                found.append((f"{module_name}.{name}", obj))
    class_names: dict[type, str] = {}
    for full, obj in found:
        if inspect.isclass(obj):
            class_names.setdefault(obj, full)
    seen: dict[tuple[Path, str], Callable_] = {}
    for full, obj in found:
        target = getattr(obj, "py_func", obj)
        located = _source(inspect.unwrap(target))
        if located is None:
            continue  # defined outside spikeflow (a re-exported torch or numpy name)
        file, path = located
        node = None if hasattr(obj, "py_func") else _find(file, path)
        seen.setdefault(
            (file, ".".join(path)), Callable_(full, file, ".".join(path), node, path[-1])
        )
        if inspect.isclass(obj):
            for item in _methods(obj, class_names):
                seen.setdefault((item.file, item.qualname), item)
    return list(seen.values())


def _methods(klass: type, class_names: dict[type, str]) -> list[Callable_]:
    """Returns:
    The public methods ``klass`` has (its own and inherited) that a spikeflow class defines.
    """
    out = []
    for name in sorted(dir(klass)):
        if name.startswith("_"):
            continue
        owner = next(k for k in klass.__mro__ if name in vars(k))
        located = _source(owner) if owner.__module__.startswith("spikeflow") else None
        if located is None:
            continue
        file, path = located
        node = _find(file, [*path, name])
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        if owner in class_names:
            label = f"{class_names[owner]}.{name}"
        else:
            label = f"{class_names[klass]}.{name} (from {owner.__module__}.{owner.__qualname__})"
        out.append(Callable_(label, file, ".".join([*path, name]), node, name))
    return out


def _body_range(node: ast.AST) -> tuple[int, int] | None:
    body = list(getattr(node, "body", []))
    if isinstance(node, ast.ClassDef):
        return None
    first = body[0] if body else None
    if (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    ):
        body = body[1:]
    if not body:
        return None
    return body[0].lineno, node.end_lineno or body[-1].lineno


def measure(item: Callable_, lines: dict[Path, tuple[set[int], set[int]]]) -> bool | None:
    """Returns:
    True where a body line of ``item`` ran, False where none did, None where coverage cannot tell
    (no measured statement in its body).
    """
    node = item.node
    if node is None or "overload" in _decorators(node) or "abstractmethod" in _decorators(node):
        return None
    executed, statements = lines.get(item.file, (set(), set()))
    if isinstance(node, ast.ClassDef):
        ranges = [
            r
            for child in node.body
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            and "overload" not in _decorators(child)
            for r in [_body_range(child)]
            if r is not None
        ]
    else:
        ranges = [r] if (r := _body_range(node)) else []
    measured = [ln for lo, hi in ranges for ln in statements if lo <= ln <= hi]
    if not measured:
        return None
    return any(ln in executed for ln in measured)


def coverage_lines(*paths: Path) -> dict[Path, tuple[set[int], set[int]]]:
    """Returns:
    ``{file: (executed lines, measured statements)}`` from ``coverage json`` files (united).
    """
    out: dict[Path, tuple[set[int], set[int]]] = {}
    for path in paths:
        for name, info in json.loads(path.read_text())["files"].items():
            file = (Path(name) if Path(name).is_absolute() else ROOT / name).resolve()
            executed, statements = out.setdefault(file, (set(), set()))
            executed.update(info["executed_lines"])
            statements.update(info["executed_lines"], info["missing_lines"])
    return out


def tests_text() -> str:
    return "\n".join(
        p.read_text()
        for p in sorted(TESTS.rglob("*.py"))
        if "audit" not in p.relative_to(TESTS).parts
    )


def executed_body_lines(
    lines: dict[Path, tuple[set[int], set[int]]],
) -> list[tuple[Path, int, str]]:
    """Returns:
    ``(file, line number, text)`` of every line that ran inside a function body in src/ (module
    level lines, imports and ``def`` headers run at import, so they say nothing of use).
    """
    out = []
    for file, (executed, _) in lines.items():
        if not file.is_relative_to(SRC) or not file.exists():
            continue
        text = file.read_text().splitlines()
        tree = _TREES.setdefault(file, ast.parse("\n".join(text)))
        bodies = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                bodies.update(range(node.body[0].lineno, (node.end_lineno or 0) + 1))
        out += [(file, ln, text[ln - 1]) for ln in sorted(executed & bodies)]
    return out


def _used(item: Callable_, body_lines: list[tuple[Path, int, str]], tests: str) -> bool:
    word = re.compile(rf"\b{re.escape(item.short)}\b")
    if word.search(tests):
        return True
    lo, hi = (item.node.lineno, item.node.end_lineno or 0) if item.node else (0, -1)
    return any(
        word.search(text) and not (file == item.file and lo <= ln <= hi)
        for file, ln, text in body_lines
    )


def audit_callables(*coverage: Path) -> tuple[list[str], list[str], int, int]:
    """Returns:
    (callables none of whose body ran, callables that coverage cannot measure and that neither a
    test nor a line that ran in a spikeflow function names, the number of callables audited, the
    number of those that coverage cannot measure).
    """
    lines = coverage_lines(*coverage)
    items = callables(public_modules())
    tests, body_lines = tests_text(), executed_body_lines(lines)
    missing, unused, unmeasurable = [], [], 0
    for item in items:
        ran = measure(item, lines)
        if ran is None:
            unmeasurable += 1
            if not _used(item, body_lines, tests):
                unused.append(item.name)
        elif not ran:
            missing.append(item.name)
    return sorted(missing), sorted(unused), len(items), unmeasurable


def audit_flags(*folders: Path) -> tuple[list[str], int]:
    """Returns:
    (the command's items no successful call gave, the number of items).
    """
    items = parser_items(build_parser())
    given: set[str] = set()
    for file in sorted(f for folder in folders for f in folder.glob("flags-*.jsonl")):
        for line in file.read_text().splitlines():
            record = json.loads(line)
            if not record.get("test", "").startswith(EXCLUDED_TESTS):
                given.update(record["items"])
    return [item for item in items if item not in given], len(items)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.audit.report", description=__doc__)
    parser.add_argument(
        "--coverage", type=Path, action="append", required=True, help="coverage json (repeatable)"
    )
    parser.add_argument(
        "--flags", type=Path, action="append", required=True, help="recorder folder (repeatable)"
    )
    args = parser.parse_args(argv)
    missing, unnamed, n_callables, n_unmeasurable = audit_callables(*args.coverage)
    flags, n_flags = audit_flags(*args.flags)
    print(f"public callables: {n_callables}; no body line ran: {len(missing)}")
    for name in missing:
        print(f"  not run: {name}")
    print(
        f"no body that coverage measures: {n_unmeasurable}; of those named neither in a test nor"
        f" on a line that ran in a spikeflow function: {len(unnamed)}"
    )
    for name in unnamed:
        print(f"  not named: {name}")
    print(
        f"command items (sub-commands, flags, choices): {n_flags}; never given in a run "
        f"returning 0: {len(flags)}"
    )
    for item in flags:
        print(f"  not given: {item}")
    return 1 if missing or unnamed or flags else 0


if __name__ == "__main__":
    sys.exit(main())
