"""NIR export/import: exact round trips, the tau/r conventions, graphs written by snnTorch and Norse,
peer-layout fixtures, errors."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import nir
import numpy as np
import pytest
import torch
from torch import nn

import spikeflow as sf
from spikeflow.errors import UserError
from spikeflow.interop import LeakyIntegrator, Scale, Threshold, from_nir, to_nir

FIXTURES = Path(__file__).parent / "fixtures"


def _roundtrip(model: nn.Module, x: torch.Tensor, tmp_path: Path, **kwargs) -> nn.Module:
    path = tmp_path / "model.nir"
    nir.write(path, to_nir(model, **kwargs))
    loaded = from_nir(path)
    expected, _ = model(x)
    got, _ = loaded(x)
    assert expected.abs().sum() > 0, "the test input must make the model produce output"
    assert torch.equal(expected, got)
    return loaded


@pytest.mark.parametrize("reset", ["zero", "subtract", "none"])
def test_mlp_round_trip_is_exact(tmp_path, reset):
    torch.manual_seed(0)
    model = sf.nn.Sequential(
        nn.Linear(10, 16),
        sf.nn.LIF(beta=0.85, threshold=0.7, reset=reset, v_reset=-0.2 if reset == "zero" else 0.0),
        nn.Dropout(0.3),
        nn.Linear(16, 5, bias=False),
        sf.nn.Synaptic(alpha=0.6, beta=0.9, reset=reset),
    ).eval()
    loaded = _roundtrip(model, torch.rand(30, 4, 10) * 3, tmp_path, dt=1e-4)
    assert loaded[1].reset == reset
    assert len(loaded) == 4  # dropout is an identity at inference and is not exported


def test_conv_round_trip_with_sum_and_avg_pool_and_per_neuron_parameters(tmp_path):
    torch.manual_seed(1)
    model = sf.nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1),
        sf.nn.LIF(beta=torch.rand(4, 1, 1) * 0.5 + 0.4, threshold=torch.rand(4, 8, 8) + 0.5),
        nn.AvgPool2d(2, divisor_override=1),
        sf.nn.IF(reset="zero"),
        nn.AvgPool2d(2),
        nn.Flatten(),
        nn.Linear(16, 3),
        LeakyIntegrator(beta=0.8),
    )
    x = (torch.rand(12, 3, 2, 8, 8) < 0.5).float()
    loaded = _roundtrip(model, x, tmp_path, input_shape=(2, 8, 8))
    assert isinstance(loaded[7], LeakyIntegrator)


def test_conv1d_threshold_and_scale_round_trip(tmp_path):
    torch.manual_seed(2)
    model = sf.nn.Sequential(
        nn.Conv1d(1, 3, 5, stride=2), Scale(torch.tensor([[1.5], [0.5], [2.0]])), Threshold(0.2)
    )
    _roundtrip(model, torch.randn(6, 2, 1, 20), tmp_path, input_shape=(1, 20))


@pytest.mark.parametrize("connectivity", ["dense", "one_to_one"])
@pytest.mark.parametrize("cell", [sf.nn.RLIF, sf.nn.RSynaptic])
def test_recurrent_round_trip(tmp_path, connectivity, cell):
    torch.manual_seed(3)
    rec = cell(8, connectivity, reset="zero")
    model = sf.nn.Sequential(nn.Linear(4, 8), rec, nn.Linear(8, 2), LeakyIntegrator(0.9, 0.5))
    loaded = _roundtrip(model, torch.rand(25, 3, 4) * 2, tmp_path)
    assert loaded[1].connectivity == connectivity
    assert torch.equal(loaded[1].weight, rec.weight)


def test_exported_parameters_follow_the_nir_conventions():
    model = sf.nn.Sequential(
        nn.Linear(3, 2), sf.nn.LIF(beta=0.75, threshold=2.0, reset="zero", v_reset=0.5),
        sf.nn.Synaptic(alpha=0.5, beta=0.8), sf.nn.LIF(beta=1.0, reset="zero"),
    )  # fmt: skip
    graph = to_nir(model, dt=1e-3)
    lif, cuba, if_ = graph.nodes["lif_1"], graph.nodes["cubalif_2"], graph.nodes["if_3"]
    np.testing.assert_allclose(lif.tau, [4e-3, 4e-3], rtol=1e-6)  # tau = dt / (1 - beta)
    np.testing.assert_allclose(lif.r, [4.0, 4.0], rtol=1e-6)  # r = tau / dt
    np.testing.assert_allclose(lif.v_threshold, [2.0, 2.0])
    np.testing.assert_allclose(lif.v_reset, [0.5, 0.5])
    np.testing.assert_allclose(cuba.tau_syn, [2e-3] * 2, rtol=1e-6)
    np.testing.assert_allclose(cuba.tau_mem, [5e-3] * 2, rtol=1e-6)
    np.testing.assert_allclose(cuba.w_in, [2.0] * 2, rtol=1e-6)  # w_in = tau_syn / dt
    np.testing.assert_allclose(cuba.r, [5.0] * 2, rtol=1e-6)
    assert cuba.metadata == {"reset": "subtract"}
    np.testing.assert_allclose(if_.r, [1.0, 1.0])
    assert graph.metadata["dt"] == 1e-3


def test_import_applies_gain_and_leak_analytically():
    """LI with tau=5 ms, r=2, v_leak=0.5 at dt=1 ms: v[t] = 0.8 v[t-1] + 0.2 (0.5 + 2 x[t])."""
    node = nir.LI(tau=np.full(2, 5e-3), r=np.full(2, 2.0), v_leak=np.full(2, 0.5))
    model = from_nir(nir.NIRGraph.from_list(node), dt=1e-3)
    x = torch.tensor([[1.0, 0.0], [0.0, 0.0], [2.0, -1.0]]).unsqueeze(1)  # [T=3, B=1, 2]
    v, _ = model(x)
    expected, prev = [], np.zeros(2)
    for t in range(3):
        prev = 0.8 * prev + 0.2 * (0.5 + 2 * x[t, 0].numpy())
        expected.append(prev)
    np.testing.assert_allclose(v[:, 0].numpy(), np.stack(expected), rtol=1e-6)
    np.testing.assert_allclose(v[0, 0].numpy(), [0.5, 0.1], rtol=1e-6)  # golden first step


def test_import_lif_spikes_at_the_analytic_step():
    """Norse layout: r=1, tau=10 ms, dt=1 ms: v[t] = 0.9 v + 0.1 x; x=5 crosses 1.0 at t=2."""
    node = nir.LIF(tau=np.array([1e-2]), r=np.ones(1), v_leak=np.zeros(1), v_threshold=np.ones(1))
    model = from_nir(nir.NIRGraph.from_list(node), dt=1e-3)
    spikes, _ = model(torch.full((6, 1, 1), 5.0))
    # v: 0.5, 0.95, 1.355 -> spike, reset to 0; 0.5, 0.95, 1.355 -> spike
    assert spikes[:, 0, 0].tolist() == [0, 0, 1, 0, 0, 1]


@pytest.mark.parametrize("name", ["snntorch_mlp", "norse_mlp"])
def test_graphs_exported_by_peer_libraries_reproduce_their_output(name):
    """``peer_*.nir`` were written by snnTorch 1.0.0 and Norse 1.1.0 themselves, and ``y`` is those
    libraries' own output (benchmarks/nir_fixtures/write_peer_fixtures.py, in .venv-bench)."""
    data = np.load(FIXTURES / f"peer_{name}.npz")
    model = from_nir(FIXTURES / f"peer_{name}.nir", dt=float(data["dt"]))
    with torch.no_grad():
        y, _ = model(torch.as_tensor(data["x"]))
    assert data["y"].sum() > 10, "the peer's run must produce output spikes"
    assert torch.equal(y, torch.as_tensor(data["y"]))


@pytest.mark.parametrize("name", ["snntorch_mlp", "snntorch_rsynaptic", "norse_conv"])
def test_peer_layout_fixtures_import_and_match_reference(name):
    """Not written by the peers: graphs in their export layouts made with ``nir`` and a reference
    output from the small NIR simulator in benchmarks/nir_fixtures/make_fixtures.py; they cover
    the recurrent and convolutional layouts."""
    data = np.load(FIXTURES / f"{name}.npz")
    model = from_nir(FIXTURES / f"{name}.nir", dt=float(data["dt"]))
    y, _ = model(torch.as_tensor(data["x"]))
    assert data["y"].sum() > 10
    np.testing.assert_allclose(y.detach().numpy(), data["y"], rtol=1e-4, atol=1e-4)


def test_flat_recurrent_loop_in_parent_graph_imports():
    w = np.array([[0.0, 2.0], [0.0, 0.0]])
    graph = nir.NIRGraph(
        nodes={
            "input": nir.Input(np.array([2])),
            "lif": nir.IF(r=np.ones(2), v_threshold=np.ones(2)),
            "w": nir.Affine(weight=w, bias=np.array([0.0, 0.25])),
            "output": nir.Output(np.array([2])),
        },
        edges=[("input", "lif"), ("lif", "w"), ("w", "lif"), ("lif", "output")],
        metadata={"dt": 1e-3},
    )
    model = from_nir(graph)
    x = torch.tensor([[0.0, 1.0], [0.0, 0.0], [0.0, 0.0]]).unsqueeze(1)
    spikes, _ = model(x)
    # neuron 1 fires at t=0 (1.0 + bias 0.25); neuron 0 gets 2.0 from it at t=1
    assert spikes[:, 0].tolist() == [[0, 1], [1, 0], [0, 0]]


def _bad_export(model, **kwargs):
    with pytest.raises(UserError) as err:
        to_nir(model, **kwargs)
    return str(err.value)


def test_export_errors():
    assert "refractory=2" in _bad_export(sf.nn.Sequential(nn.Linear(2, 2), sf.nn.LIF(refractory=2)))
    msg = _bad_export(sf.nn.Sequential(nn.Linear(2, 2), sf.nn.LIF()), strict=True)
    assert "reset='subtract'" in msg and "strict=False" in msg
    assert "ALIF" in _bad_export(sf.nn.Sequential(nn.Linear(2, 2), sf.nn.ALIF()))
    assert "MaxPool2d" in _bad_export(nn.Sequential(nn.MaxPool2d(2)), input_shape=(1, 4, 4))
    assert "input_shape=None" in _bad_export(sf.nn.Sequential(nn.Conv2d(1, 2, 3), sf.nn.LIF()))
    assert "alpha=1" in _bad_export(sf.nn.Sequential(nn.Linear(2, 2), sf.nn.Synaptic(alpha=1.0)))
    assert "dt=0" in _bad_export(sf.nn.Sequential(nn.Linear(2, 2)), dt=0)


def _custom_node() -> nir.NIRNode:
    """A node type spikeflow does not know (a NIR extension of another tool)."""

    @dataclasses.dataclass(eq=False)
    class Custom(nir.NIRNode):
        value: np.ndarray

        def __post_init__(self):
            self.input_type = {"input": np.array(self.value.shape)}
            self.output_type = {"output": np.array(self.value.shape)}

    return Custom(np.ones(1))


def test_import_errors(tmp_path):
    lif = nir.LIF(tau=np.ones(1) * 1e-3, r=np.ones(1), v_leak=np.zeros(1), v_threshold=np.ones(1))
    with pytest.raises(UserError, match="dt=None"):
        from_nir(nir.NIRGraph.from_list(lif))
    with pytest.raises(UserError, match=r"dt=0\.01 is larger than tau"):
        from_nir(nir.NIRGraph.from_list(lif), dt=1e-2)
    cuba = nir.CubaLIF(tau_syn=np.ones(1), tau_mem=np.ones(1), r=np.ones(1), v_leak=np.ones(1),
                       v_threshold=np.ones(1))  # fmt: skip
    with pytest.raises(UserError, match="v_leak=1"):
        from_nir(nir.NIRGraph.from_list(cuba), dt=1e-3)
    with pytest.raises(UserError, match="Custom is not supported"):  # every nir node is now
        from_nir(nir.NIRGraph.from_list(_custom_node()), dt=1e-3)
    branch = nir.NIRGraph(
        nodes={"input": nir.Input(np.array([1])), "a": nir.Scale(np.ones(1)),
               "b": nir.Scale(np.ones(1)), "output": nir.Output(np.array([1]))},
        edges=[("input", "a"), ("input", "b"), ("a", "output"), ("b", "output")],
    )  # fmt: skip
    with pytest.raises(UserError, match="feeds 2 nodes"):
        from_nir(branch, dt=1e-3)
    with pytest.raises(UserError, match="is not a file"):
        from_nir(tmp_path / "missing.nir", dt=1e-3)
    (tmp_path / "bad.nir").write_bytes(b"not hdf5")
    with pytest.raises(UserError, match="not a readable NIR file"):
        from_nir(tmp_path / "bad.nir", dt=1e-3)
    with pytest.raises(UserError, match=r"expected a nir\.NIRGraph"):
        from_nir(42, dt=1e-3)


def test_spikeflow_models_export_through_as_sequential(tmp_path):
    from spikeflow import models

    torch.manual_seed(4)
    model = models.build("rsnn", input_shape=(12,), num_classes=9, hidden=(16,))
    path = tmp_path / "rsnn.nir"
    nir.write(path, to_nir(model, dt=1e-3, input_shape=(12,)))
    x = torch.rand(15, 3, 12) * 3
    expected = model(x).spikes
    assert expected.sum() > 0
    assert torch.equal(from_nir(path)(x)[0], expected)


def _lif_node(tau: float = 1e-2) -> nir.LIF:
    return nir.LIF(tau=np.full(1, tau), r=np.ones(1), v_leak=np.zeros(1), v_threshold=np.ones(1))


@pytest.mark.parametrize("dt", [float("nan"), float("inf"), -1e-3, 0.0])
def test_import_blames_dt_for_a_bad_dt(dt):
    with pytest.raises(UserError, match=r"^dt="):
        from_nir(nir.NIRGraph.from_list(_lif_node()), dt=dt)


@pytest.mark.parametrize("tau", [float("nan"), -1.0, 0.0])
def test_import_blames_tau_for_a_bad_tau(tau):
    with pytest.raises(UserError, match="tau"):
        from_nir(nir.NIRGraph.from_list(_lif_node(tau)), dt=1e-3)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_import_refuses_non_finite_weights(bad):
    weight = np.ones((2, 2))
    weight[1, 0] = bad
    graph = nir.NIRGraph.from_list(nir.Affine(weight=weight, bias=np.zeros(2)))
    with pytest.raises(UserError, match="weight contains NaN or infinite"):
        from_nir(graph, dt=1e-3)


def test_import_refuses_a_dangling_edge():
    graph = nir.NIRGraph(
        nodes={"input": nir.Input(np.array([1])), "a": nir.Scale(np.ones(1)),
               "output": nir.Output(np.array([1]))},
        edges=[("input", "a"), ("a", "output")],
    )  # fmt: skip
    graph.edges.append(("a", "ghost"))  # NIRGraph checks its edges only when built
    with pytest.raises(UserError, match="'ghost', which is not one of its nodes"):
        from_nir(graph, dt=1e-3)
