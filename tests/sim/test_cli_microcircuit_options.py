"""``spikeflow simulate microcircuit``: the thalamic input and the in-degree scale apply."""

import json

from spikeflow.cli import main

BASE = ["simulate", "microcircuit", "--scale", "0.02", "--duration", "1ms", "--transient", "0",
        "--threads", "1"]  # fmt: skip


def test_thalamic_input_adds_its_synapses_and_k_scale_thins_all(tmp_path, capsys):
    runs = {}
    for name, extra in (
        ("plain", []),
        ("thalamic", ["--thalamic"]),
        ("thin", ["--k-scale", "0.01"]),
    ):
        assert main([*BASE, *extra, "--out", str(tmp_path / name)]) == 0
        runs[name] = json.loads((tmp_path / name / "result.json").read_text())
    assert (runs["plain"]["thalamic"], runs["thalamic"]["thalamic"]) == (False, True)
    assert runs["thalamic"]["neurons"] == runs["plain"]["neurons"]  # the 8 populations only
    assert runs["thalamic"]["synapses"] > runs["plain"]["synapses"]
    assert runs["thin"]["k_scale"] == 0.01
    assert 0 < runs["thin"]["synapses"] < runs["plain"]["synapses"]
