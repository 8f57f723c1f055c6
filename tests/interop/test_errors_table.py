"""Every ``UserError`` of NIR export and import not pinned in test_nir.py (one table each), and
the export/import branches no other test runs (``nir.I``, a single node, inferred input shapes)."""

from __future__ import annotations

import dataclasses

import nir
import numpy as np
import pytest
import torch
from torch import nn

import spikeflow as sf
from spikeflow.errors import UserError
from spikeflow.interop import LeakyIntegrator, Scale, from_nir, to_nir


def _lin() -> nn.Linear:
    return nn.Linear(2, 2)


EXPORT_CASES = [
    (lambda: (sf.nn.Recurrent(sf.nn.ALIF(), 2),), {}, "ALIF has no NIR equivalent"),
    (
        lambda: (nn.Conv2d(1, 1, 3, padding=1, padding_mode="reflect"),),
        {"input_shape": (1, 4, 4)},
        "padding_mode='reflect' has no NIR equivalent",
    ),
    (
        lambda: (nn.AvgPool2d(2, ceil_mode=True),),
        {"input_shape": (1, 4, 4)},
        "AvgPool2d(ceil_mode=True, divisor_override=None) has no NIR equivalent",
    ),
    (
        lambda: (nn.AvgPool2d(2, divisor_override=3),),
        {"input_shape": (1, 4, 4)},
        "divisor_override=3) has no NIR equivalent",
    ),
    (
        lambda: (nn.Flatten(0),),
        {"input_shape": (2, 2)},
        "Flatten(start_dim=0) would merge time and batch",
    ),
    (lambda: (_lin(), Scale(1.0, 0.5)), {}, "Scale with a non-zero offset has no NIR node"),
    (lambda: (nn.Dropout(0.1),), {}, "has no layers to export"),
    (lambda: (_lin(),), {"dt": float("nan")}, "dt=nan is not valid"),
    (lambda: (_lin(),), {"dt": float("inf")}, "dt=inf is not valid"),
    (lambda: (_lin(),), {"dt": -1e-3}, "dt=-0.001 is out of range"),
]


@pytest.mark.parametrize(("layers", "kwargs", "words"), EXPORT_CASES)
def test_export_refuses(layers, kwargs, words):
    with pytest.raises(UserError) as err:
        to_nir(nn.Sequential(*layers()), **kwargs)
    assert words in str(err.value)
    assert "\n" not in str(err.value)


def _node_graph(*nodes: nir.NIRNode, **kwargs) -> nir.NIRGraph:
    return nir.NIRGraph.from_list(*nodes, **kwargs)


def _lif(n: int = 1) -> nir.LIF:
    return nir.LIF(tau=np.full(n, 1e-2), r=np.ones(n), v_leak=np.zeros(n), v_threshold=np.ones(n))


def _graph(nodes: dict, edges: list) -> nir.NIRGraph:
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata={"dt": 1e-3})


def _io(n: int = 1) -> dict:
    return {"input": nir.Input(np.array([n])), "output": nir.Output(np.array([n]))}


def _scale(n: int = 1) -> nir.Scale:
    return nir.Scale(np.ones(n))


def _without_input() -> nir.NIRGraph:
    graph = _graph({**_io(), "a": _scale()}, [("input", "a"), ("a", "output")])
    del graph.nodes["input"]  # NIRGraph adds missing Input nodes only when built
    graph.edges.remove(("input", "a"))
    return graph


def _chain3() -> nir.NIRGraph:
    return _graph(
        {**_io(), "a": _scale(), "b": _scale()}, [("input", "a"), ("a", "b"), ("b", "output")]
    )


def _added(graph: nir.NIRGraph, name: str, *edges: tuple[str, str]) -> nir.NIRGraph:
    graph.nodes[name] = _scale()  # added after building: NIRGraph would give it an Input node
    graph.edges.extend(edges)
    return graph


def _matrix_delay() -> nir.NIRGraph:
    graph = _graph(
        {**_io(2), "d": nir.Delay(delay=np.ones(2) * 1e-3)}, [("input", "d"), ("d", "output")]
    )
    graph.nodes["d"].delay = np.ones((1, 2)) * 1e-3  # NIR checks the shape only when built
    return graph


def _text_field_node() -> nir.NIRGraph:
    """A node type of another tool with a list-of-text field (not numbers: not checked as such)."""

    @dataclasses.dataclass(eq=False)
    class Tagged(nir.NIRNode):
        tags: list

        def __post_init__(self):
            self.input_type = {"input": np.array([1])}
            self.output_type = {"output": np.array([1])}

    graph = nir.NIRGraph.from_list(Tagged(["a", "b"]))
    graph.metadata = {"dt": 1e-3}
    return graph


IMPORT_CASES = [
    (_text_field_node, "NIR node type Tagged is not supported"),
    (
        lambda: _graph(
            {
                **_io(2),
                "li": nir.LI(tau=np.ones(2), r=np.ones(2), v_leak=np.zeros(2)),
                "w": nir.Linear(weight=np.ones((2, 2))),
            },
            [("input", "li"), ("li", "w"), ("w", "li"), ("li", "output")],
        ),
        "a recurrent loop needs a square weight around a LIF/IF/CubaLIF node; got LeakyIntegrator",
    ),
    (
        _without_input,
        "the NIR graph has 0 Input nodes; expected exactly one",
    ),
    (
        lambda: _graph(
            {**_io(), "b": nir.Input(np.array([1])), "a": _scale()},
            [("input", "a"), ("b", "a"), ("a", "output")],
        ),
        "the NIR graph has 2 Input nodes",
    ),
    (
        lambda: _added(_chain3(), "c", ("c", "b")),
        "NIR node 'b' has 2 inputs ['a', 'c']",
    ),
    (
        lambda: _added(_chain3(), "lost"),
        "NIR nodes ['lost'] are not on the path from input to output",
    ),
    (
        lambda: _graph(dict(_io()), [("input", "output")]),
        "the NIR graph has no computing nodes between its input and output",
    ),
    (
        _matrix_delay,
        "delay has shape (1, 2); expected one delay per feature [N]",
    ),
    (
        lambda: _graph(
            {
                **_io(),
                "lif": nir.LIF(
                    tau=np.full(1, np.inf), r=np.ones(1), v_leak=np.zeros(1), v_threshold=np.ones(1)
                ),
            },
            [("input", "lif"), ("lif", "output")],
        ),
        "tau contains NaN or infinite values",
    ),
    (
        lambda: _graph(
            {**_io(), "s": nir.Scale(np.array([np.nan]))}, [("input", "s"), ("s", "output")]
        ),
        "scale contains NaN or infinite values",
    ),
]


@pytest.mark.parametrize(("graph", "words"), IMPORT_CASES)
def test_import_refuses(graph, words):
    with pytest.raises(UserError) as err:
        from_nir(graph())
    assert words in str(err.value)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("reset", [b"zero", "sideways"])
def test_import_reads_the_reset_metadata_as_bytes_or_refuses_it(reset):
    lif = _lif()
    lif.metadata = {"reset": reset}
    if reset == b"zero":
        assert from_nir(_node_graph(lif), dt=1e-3)[-1].reset == "zero"
    else:
        with pytest.raises(UserError, match="metadata reset='sideways' is not valid"):
            from_nir(_node_graph(lif), dt=1e-3)


def test_a_single_node_imports_as_a_one_layer_model():
    model = from_nir(_lif(), dt=1e-3)
    assert len(model) == 2 and isinstance(model[1], sf.nn.LIF)  # Scale(dt / tau), then LIF
    # v[k] = 0.9 v[k-1] + 0.1 * 2 = 2 (1 - 0.9^k) first reaches 1 at k = 7, then resets to zero
    spikes, _ = model(torch.full((14, 1, 1), 2.0))
    assert spikes[:, 0, 0].nonzero().flatten().tolist() == [6, 13]


def test_a_perfect_integrator_exports_as_nir_i_and_round_trips():
    model = sf.nn.Sequential(nn.Linear(2, 3), LeakyIntegrator(beta=1.0))
    graph = to_nir(model)
    assert isinstance(graph.nodes["i_1"], nir.I)
    x = torch.rand(5, 2, 2)
    assert torch.allclose(from_nir(graph)(x)[0], model(x)[0])


@pytest.mark.parametrize(
    ("first", "shape"),
    [
        (lambda: sf.nn.Delay(3, 2, delays=torch.tensor([0.0, 1.0, 2.0]), learn=False), [3]),
        (lambda: sf.nn.RLIF(4), [4]),
    ],
)
def test_input_shape_is_inferred_from_a_delay_or_recurrent_first_layer(first, shape):
    graph = to_nir(sf.nn.Sequential(first()))
    assert graph.nodes["input"].output_type["output"].tolist() == shape


def test_delayed_linear_without_bias_exports_a_linear_weight_node():
    torch.manual_seed(0)
    layer = sf.nn.DelayedLinear(2, 3, 3, bias=False).rounded()
    graph = to_nir(sf.nn.Sequential(layer))
    sub = next(n for n in graph.nodes.values() if isinstance(n, nir.NIRGraph))
    assert type(sub.nodes["weight"]) is nir.Linear
    x = torch.rand(6, 1, 2)
    assert torch.allclose(from_nir(graph)(x)[0], sf.nn.Sequential(layer)(x)[0], atol=1e-6)


def test_conv2d_with_numeric_padding_imports_in_memory():
    torch.manual_seed(1)
    model = sf.nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), sf.nn.IF())
    graph = to_nir(model, input_shape=(1, 4, 4))
    loaded = from_nir(graph)
    assert loaded[0].layer.padding == (1, 1)
    x = torch.rand(3, 2, 1, 4, 4)
    assert torch.allclose(loaded(x)[0], model(x)[0])
