"""``spikeflow simulate cuba``: copies in a batch and the seed."""

import json

from spikeflow.cli import main

BASE = ["simulate", "cuba", "--neurons", "200", "--duration", "20ms"]


def test_batch_runs_copies_and_the_seed_repeats_a_run(tmp_path, capsys):
    def run(name, *extra):
        assert main([*BASE, *extra, "--out", str(tmp_path / name)]) == 0
        return json.loads((tmp_path / name / "result.json").read_text())

    one, again = run("one", "--seed", "4"), run("again", "--seed", "4")
    batch = run("batch", "--seed", "4", "--batch", "2")
    assert one["seed"] == 4 and batch["batch"] == 2
    assert one["rate_hz"] == again["rate_hz"]
    coarse = run("coarse", "--dt", "0.2")
    assert coarse["dt_ms"] == 0.2 and coarse["duration_ms"] == 20
