"""MkDocs hook: run every tutorial script and add its page and figures to the site.

Each ``docs/tutorials/NN_*.py`` runs in its own process (``tutorial_runner.py``), at most
``SPIKEFLOW_DOCS_JOBS`` at a time (default: one per core, up to 2), and its results are kept
under ``build/docs/tutorials/<name>/`` with the hash of everything they depend on (the script,
the runner, the spikeflow sources and the quick flag), so that ``mkdocs serve`` reruns only what
changed. The generated pages and figures are added to the site's files, never to ``docs/``.
"""

import hashlib
import json
import logging
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[2]
TUTORIALS = ROOT / "docs" / "tutorials"
RUNNER = Path(__file__).resolve().with_name("tutorial_runner.py")
CACHE = ROOT / "build" / "docs" / "tutorials"

log = logging.getLogger("mkdocs.hooks.tutorials")


def tutorial_scripts() -> list[Path]:
    """The tutorial scripts, in reading order (``NN_name.py``)."""
    return sorted(TUTORIALS.glob("[0-9][0-9]_*.py"))


def _sources_digest() -> bytes:
    digest = hashlib.sha256()
    for path in sorted((ROOT / "src" / "spikeflow").rglob("*.py")):
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.digest()


def _key(script: Path, quick: bool, sources: bytes) -> str:
    digest = hashlib.sha256(sources)
    for part in (script.read_bytes(), RUNNER.read_bytes(), str(quick).encode()):
        digest.update(part)
    return digest.hexdigest()


def _environment(jobs: int) -> dict[str, str]:
    env = dict(os.environ)
    threads = str(max(1, (os.cpu_count() or 1) // jobs))
    for name in ("OMP_NUM_THREADS", "NUMBA_NUM_THREADS"):
        env.setdefault(name, threads)
    env["MPLBACKEND"] = "Agg"
    return env


def _run(script: Path, out_dir: Path, key: str, env: dict[str, str]) -> None:
    stamp = out_dir / "key.txt"
    if stamp.exists() and stamp.read_text() == key:
        log.info("tutorial %s: up to date", script.stem)
        return
    stamp.unlink(missing_ok=True)
    done = subprocess.run(
        [sys.executable, str(RUNNER), str(script), str(out_dir)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise PluginError(f"tutorial {script.name} failed:\n{done.stderr[-6000:]}")
    summary = json.loads((out_dir / "summary.json").read_text())
    log.info("tutorial %s: ran in %.1f s", script.stem, summary["seconds"])
    stamp.write_text(key)


def on_files(files: Files, config) -> Files:
    """Run the stale tutorials, then add every tutorial page and figure to ``files``."""
    quick = os.environ.get("SPIKEFLOW_DOCS_QUICK") == "1"
    jobs = int(os.environ.get("SPIKEFLOW_DOCS_JOBS", min(2, os.cpu_count() or 1)))
    env = _environment(jobs)
    sources = _sources_digest()
    scripts = tutorial_scripts()
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        runs = [
            pool.submit(_run, script, CACHE / script.stem, _key(script, quick, sources), env)
            for script in scripts
        ]
        for future in runs:
            future.result()
    for script in scripts:
        out_dir = CACHE / script.stem
        page = (out_dir / f"{script.stem}.md").read_text(encoding="utf-8")
        files.append(File.generated(config, f"tutorials/{script.stem}.md", content=page))
        for figure in sorted((out_dir / "figures").iterdir()):
            uri = f"tutorials/figures/{figure.name}"
            files.append(File.generated(config, uri, abs_src_path=str(figure)))
    return files
