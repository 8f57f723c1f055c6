"""Run one tutorial script (jupytext percent format) and write its page: code, printed output
and the figures each cell saved.

    python docs/hooks/tutorial_runner.py docs/tutorials/01_neuron.py OUT_DIR

writes ``OUT_DIR/01_neuron.md`` and ``OUT_DIR/figures/01_neuron-*.png``. More ``SCRIPT OUT_DIR``
pairs run one after the other in the same process (the test suite does this to pay for the
imports once); a script that fails writes ``OUT_DIR/error.txt`` and the others still run. The script runs in
``OUT_DIR/work`` as its working directory, cell by cell in one namespace, exactly as
``python 01_neuron.py`` would run it; a figure is every PNG or SVG file a cell writes (or
rewrites) at the top of the working directory. An exception in a cell ends the run with exit
status 1 and the traceback on stderr. ``SPIKEFLOW_DOCS_QUICK=1`` in the environment is read by
the tutorials themselves (small settings) and noted on the page.
"""

import contextlib
import io
import json
import os
import re
import shutil
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

#: the cell markers of the percent format: ``# %%`` (code) and ``# %% [markdown]``
CELL = re.compile(r"^# %%(?P<rest>.*)$")
FIGURE_SUFFIXES = (".png", ".svg")


@dataclass(frozen=True)
class Cell:
    """One cell of a percent-format script: ``kind`` is ``"code"`` or ``"markdown"``; ``line`` is
    the script line (1-based) of the cell's first source line."""

    kind: str
    source: str
    line: int


def parse(text: str) -> list[Cell]:
    """Split a percent-format script into cells; markdown cells lose their leading ``# ``.

    Text before the first marker (a module docstring, say) is a code cell. Empty cells are dropped.
    """
    cells: list[Cell] = []
    kind, lines, start = "code", [], 1
    for number, raw in enumerate(text.splitlines(), start=1):
        marker = CELL.match(raw)
        if marker is None:
            lines.append(raw)
            continue
        cells.append(_cell(kind, lines, start))
        kind = "markdown" if "[markdown]" in marker["rest"] else "code"
        lines, start = [], number + 1
    cells.append(_cell(kind, lines, start))
    return [cell for cell in cells if cell.source.strip()]


def _cell(kind: str, lines: list[str], start: int) -> Cell:
    if kind == "markdown":
        lines = [line[2:] if line.startswith("# ") else line.lstrip("#") for line in lines]
    return Cell(kind, "\n".join(lines).strip("\n"), start)


def _figure_stamps(workdir: Path) -> dict[str, tuple[int, int]]:
    return {
        path.name: (path.stat().st_mtime_ns, path.stat().st_size)
        for path in workdir.iterdir()
        if path.is_file() and path.suffix.lower() in FIGURE_SUFFIXES
    }


def _clean_output(text: str) -> str:
    """Printed text as a terminal would leave it: a carriage return overwrites its line."""
    return "\n".join(line.rsplit("\r", 1)[-1] for line in text.rstrip().split("\n"))


def _execute(cell: Cell, namespace: dict, path: Path) -> str:
    code = compile("\n" * (cell.line - 1) + cell.source, str(path), "exec")
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            exec(code, namespace)
    except BaseException:
        print(out.getvalue(), file=sys.stderr)  # what the failing cell printed, then the traceback
        raise
    return _clean_output(out.getvalue())


def _header(script: Path, quick: bool, seconds: float) -> str:
    note = (
        f"This page is the script [`{script.name}`]({script.name}), run when the site was built "
        f"({seconds:.0f} s on the build machine): run it yourself with `python {script.name}` "
        "(it writes the figures into the current directory), or open it in Jupyter or VS Code "
        "as a notebook (jupytext percent format)."
    )
    if quick:
        note += (
            '\n\n!!! warning "Quick build"\n    This copy was built with '
            "`SPIKEFLOW_DOCS_QUICK=1`: small sizes and few epochs, so the numbers below are "
            "not the tutorial's real results."
        )
    return note


def run(script: Path, out_dir: Path) -> dict:
    """Run ``script`` and write its page and figures under ``out_dir``; return a summary."""
    script = script.resolve()
    workdir = out_dir / "work"
    figures_dir = out_dir / "figures"
    for folder in (workdir, figures_dir):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    quick = os.environ.get("SPIKEFLOW_DOCS_QUICK") == "1"
    os.environ.setdefault("MPLBACKEND", "Agg")
    namespace = {"__name__": "__main__", "__file__": str(script)}
    blocks: list[str] = []
    figures: list[str] = []
    started = time.perf_counter()
    cwd = Path.cwd()
    os.chdir(workdir)
    try:
        for cell in parse(script.read_text(encoding="utf-8")):
            if cell.kind == "markdown":
                blocks.append(cell.source)
                continue
            before = _figure_stamps(workdir)
            output = _execute(cell, namespace, script)
            blocks.append(f"```python\n{cell.source}\n```")
            if output:
                blocks.append(f"```text\n{output}\n```")
            after = _figure_stamps(workdir)
            changed = sorted(
                (n for n in after if before.get(n) != after[n]), key=lambda n: (after[n], n)
            )
            for name in changed:
                target = f"{script.stem}-{name}"
                shutil.copyfile(workdir / name, figures_dir / target)
                figures.append(target)
                alt = Path(name).stem.replace("_", " ")
                blocks.append(f"![{alt}](figures/{target})")
    finally:
        os.chdir(cwd)
        if "matplotlib.pyplot" in sys.modules:  # the next script starts with no open figures
            sys.modules["matplotlib.pyplot"].close("all")
    seconds = time.perf_counter() - started
    if blocks and blocks[0].startswith("# "):
        blocks.insert(1, _header(script, quick, seconds))
    page = "\n\n".join(blocks) + "\n"
    (out_dir / f"{script.stem}.md").write_text(page, encoding="utf-8")
    summary = {"script": script.name, "quick": quick, "seconds": seconds, "figures": figures}
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    return summary


def main(argv: list[str]) -> int:
    if not argv or len(argv) % 2:
        print("usage: tutorial_runner.py SCRIPT OUT_DIR [SCRIPT OUT_DIR ...]", file=sys.stderr)
        return 2
    failed = 0
    for script, out in zip(argv[::2], argv[1::2], strict=True):
        out_dir = Path(out).resolve()
        try:
            summary = run(Path(script), out_dir)
        except Exception:
            failed += 1
            print(f"tutorial {script} failed:", file=sys.stderr)
            traceback.print_exc()
            out_dir.mkdir(parents=True, exist_ok=True)
            (out_dir / "error.txt").write_text(traceback.format_exc(), encoding="utf-8")
            continue
        print(json.dumps(summary))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
