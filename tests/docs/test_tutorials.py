"""Every tutorial of the documentation runs at small settings (``SPIKEFLOW_DOCS_QUICK=1``) and
writes its page and figures, through the same runner that builds the site; and the runner turns
a percent-format script into a page as documented."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TUTORIALS = ROOT / "docs" / "tutorials"
RUNNER_PATH = ROOT / "docs" / "hooks" / "tutorial_runner.py"
SCRIPTS = sorted(TUTORIALS.glob("[0-9][0-9]_*.py"))
PNG = b"\x89PNG\r\n\x1a\n"

#: the figures each tutorial saves, in the order its cells write them
FIGURES = {
    "01_neuron": ["lif_membrane.png", "neuron_models.png", "f_i_curve.png"],
    "02_coding": [
        "rate_raster.png",
        "rate_error.png",
        "latency_code.png",
        "delta_code.png",
        "population_code.png",
    ],
    "03_architectures": ["cnn_layers.png", "recurrent_memory.png"],
    "04_surrogate_training": ["surrogates.png", "surrogate_comparison.png"],
    "05_conversion": ["conversion_percentile.png", "conversion_vs_steps.png"],
    "06_stdp": ["stdp_window.png", "receptive_fields.png"],
    "07_event_data": ["event_stream.png", "event_frames.png"],
    "08_energy": ["energy_vs_steps.png", "energy_sparsity.png"],
    "09_cuba": ["cuba_raster.png", "cuba_rates.png"],
    "10_nir_and_ddp": ["nir_round_trip.png"],
}


def _runner():
    spec = importlib.util.spec_from_file_location("tutorial_runner", RUNNER_PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_scripts(*pairs: tuple[Path, Path]) -> subprocess.CompletedProcess:
    """Run ``(script, out_dir)`` pairs in one runner process, at small settings."""
    env = dict(os.environ, SPIKEFLOW_DOCS_QUICK="1", MPLBACKEND="Agg")
    args = [str(part) for pair in pairs for part in pair]
    return subprocess.run(
        [sys.executable, str(RUNNER_PATH), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )


def test_every_tutorial_has_its_figures_listed():
    assert [s.stem for s in SCRIPTS] == list(FIGURES)


@pytest.fixture(scope="module")
def quick_runs(tmp_path_factory):
    """Every tutorial run once, all in one process (the imports are paid for once)."""
    root = tmp_path_factory.mktemp("tutorials")
    done = run_scripts(*((script, root / script.stem) for script in SCRIPTS))
    return root, done


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda s: s.stem)
def test_tutorial_runs_and_draws_its_figures(script, quick_runs):
    root, done = quick_runs
    out = root / script.stem
    error = out / "error.txt"
    assert not error.exists(), error.read_text()
    assert (out / "summary.json").exists(), done.stderr[-4000:]
    page = (out / f"{script.stem}.md").read_text(encoding="utf-8")
    assert page.startswith("# ")
    assert "Quick build" in page
    made = sorted(p.name for p in (out / "figures").iterdir())
    expected = [f"{script.stem}-{name}" for name in FIGURES[script.stem]]
    assert made == sorted(expected)
    for name in expected:
        figure = out / "figures" / name
        assert figure.read_bytes()[:8] == PNG
        assert figure.stat().st_size > 10_000, f"{name} is nearly empty"
        assert f"](figures/{name})" in page
    positions = [page.index(f"](figures/{name})") for name in expected]
    assert positions == sorted(positions), "figures out of the order the cells wrote them"


def test_parse_splits_cells_and_strips_markdown_comments():
    runner = _runner()
    text = '"""doc"""\n# %% [markdown]\n# # Title\n#\n# Some *text*.\n\n# %%\nx = 1\n\n# %%\n\n'
    cells = runner.parse(text)
    assert [(c.kind, c.source, c.line) for c in cells] == [
        ("code", '"""doc"""', 1),
        ("markdown", "# Title\n\nSome *text*.", 3),
        ("code", "x = 1", 8),
    ]


def _write(tmp_path: Path, body: str) -> Path:
    script = tmp_path / "t.py"
    script.write_text(body, encoding="utf-8")
    return script


def test_runner_writes_code_output_and_figures_in_order(tmp_path):
    script = _write(
        tmp_path,
        "# %% [markdown]\n# # T\n\n# %%\nimport os\nfrom pathlib import Path\nprint('one')\n"
        "Path('a.png').write_bytes(b'x')\nPath('b.png').write_bytes(b'y')\n"
        "os.utime('b.png', ns=(10**18, 10**18))\nos.utime('a.png', ns=(2 * 10**18, 2 * 10**18))\n"
        "# %%\nprint('two\\rthree')\n",
    )
    done = run_scripts((script, tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    page = (tmp_path / "out" / "t.md").read_text()
    assert "```text\none\n```" in page
    assert "```text\nthree\n```" in page  # a carriage return overwrites its line
    assert page.index("figures/t-b.png") < page.index("figures/t-a.png")  # by time written
    assert sorted(p.name for p in (tmp_path / "out" / "figures").iterdir()) == [
        "t-a.png",
        "t-b.png",
    ]


def test_runner_fails_on_an_exception_naming_the_script_line(tmp_path):
    script = _write(tmp_path, "# %%\nprint('before')\n\n# %%\nx = 1\nraise ValueError('boom')\n")
    done = run_scripts((script, tmp_path / "out"))
    assert done.returncode == 1
    assert f'File "{script}", line 6' in done.stderr
    assert "ValueError: boom" in done.stderr
    assert not (tmp_path / "out" / "t.md").exists()
    assert "ValueError: boom" in (tmp_path / "out" / "error.txt").read_text()


def test_runner_runs_the_next_script_after_a_failure(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("# %%\nraise RuntimeError('first')\n", encoding="utf-8")
    good = tmp_path / "good.py"
    good.write_text("# %% [markdown]\n# # Good\n\n# %%\nprint('ran')\n", encoding="utf-8")
    done = run_scripts((bad, tmp_path / "bad"), (good, tmp_path / "good"))
    assert done.returncode == 1
    assert "```text\nran\n```" in (tmp_path / "good" / "good.md").read_text()
