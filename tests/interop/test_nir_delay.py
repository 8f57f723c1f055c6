"""NIR round trips of fixed integer delays (NIR ``Delay`` nodes) and of per-synapse delays."""

from __future__ import annotations

import nir
import numpy as np
import pytest
import torch
from torch import nn

import spikeflow as sf
from spikeflow.errors import UserError
from spikeflow.interop import from_nir, to_nir


def test_fixed_delay_round_trips_through_a_file_as_a_nir_delay_node(tmp_path):
    torch.manual_seed(0)
    delays = torch.tensor([0.0, 3.0, 1.0, 7.0, 2.0, 5.0])
    model = sf.nn.Sequential(
        nn.Linear(4, 6),
        sf.nn.LIF(beta=0.9, threshold=0.5, reset="zero"),
        sf.nn.Delay(6, max_delay=8, delays=delays, learn=False),
        nn.Linear(6, 3),
        sf.nn.LIF(beta=0.8, threshold=0.3, reset="zero"),
    )
    graph = to_nir(model, dt=1e-3)
    node = next(n for n in graph.nodes.values() if isinstance(n, nir.Delay))
    np.testing.assert_allclose(node.delay, delays.numpy() * 1e-3)
    nir.write(tmp_path / "m.nir", graph)
    loaded = from_nir(tmp_path / "m.nir")
    back = [m for m in loaded.layers if isinstance(m, sf.nn.Delay)]
    assert len(back) == 1 and back[0].delays().tolist() == [0, 3, 1, 7, 2, 5]
    x = torch.rand(20, 2, 4) * 2
    expected, _ = model(x)
    got, _ = loaded(x)
    assert expected.sum() > 0 and torch.equal(expected, got)


def test_rounded_delayed_linear_round_trips_as_an_equivalent_subgraph(tmp_path):
    torch.manual_seed(1)
    layer = sf.nn.DelayedLinear(5, 3, max_delay=6)
    model = sf.nn.Sequential(layer.rounded(), sf.nn.LIF(beta=0.9, threshold=0.4, reset="zero"))
    graph = to_nir(model, dt=1e-3)
    sub = next(n for n in graph.nodes.values() if isinstance(n, nir.NIRGraph))
    assert isinstance(sub.nodes["delay"], nir.Delay) and sub.nodes["delay"].delay.shape == (15,)
    nir.write(tmp_path / "m.nir", graph)
    loaded = from_nir(tmp_path / "m.nir")
    x = (torch.rand(25, 4, 5) < 0.4).float()
    with torch.no_grad():
        current = model[0](x)
        fan_out, delay, weight = loaded.layers[:3]
        current_back = weight(delay(fan_out(x)))
    torch.testing.assert_close(current_back, current, rtol=1e-5, atol=1e-6)
    assert layer.delays().unique().numel() > 2  # several different delays were exercised


def test_learnt_delays_are_refused_with_a_hint():
    model = sf.nn.Sequential(sf.nn.DelayedLinear(3, 2, max_delay=4), sf.nn.LIF())
    with pytest.raises(UserError, match=r"rounded\(\)"):
        to_nir(model)
    with pytest.raises(UserError, match=r"rounded\(\)"):
        to_nir(sf.nn.Sequential(nn.Linear(3, 3), sf.nn.Delay(3, max_delay=2), sf.nn.LIF()))


def _graph(delay: np.ndarray) -> nir.NIRGraph:
    n = len(delay)
    nodes = {"input": nir.Input(np.array([n])), "d": nir.Delay(delay=delay),
             "output": nir.Output(np.array([n]))}  # fmt: skip
    return nir.NIRGraph(nodes=nodes, edges=[("input", "d"), ("d", "output")])


def test_a_nir_delay_written_by_hand_imports_with_dt():
    loaded = from_nir(_graph(np.array([0.0, 0.002, 0.005])), dt=1e-3)
    x = torch.rand(8, 1, 3)
    y, _ = loaded(x)
    assert torch.equal(y[:, :, 1], torch.cat([torch.zeros(2, 1), x[:-2, :, 1]]))
    assert torch.equal(y[:, :, 2], torch.cat([torch.zeros(5, 1), x[:-5, :, 2]]))


@pytest.mark.parametrize("delay", [[0.0, 0.0015], [-0.001, 0.0]])
def test_a_delay_that_is_not_whole_steps_is_refused(delay):
    with pytest.raises(UserError, match="whole, non-negative numbers of steps"):
        from_nir(_graph(np.array(delay)), dt=1e-3)
