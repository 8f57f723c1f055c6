"""The checklists of docs/extending.md: every surrogate and every neuron kind is wired everywhere.

Each test reads what is registered, so a surrogate or neuron kind added to the registry but missed
in one place of its checklist fails here, naming the place.
"""

from __future__ import annotations

import argparse
import inspect
from pathlib import Path

import pytest
import torch
from torch import nn

from spikeflow import surrogate as sg
from spikeflow.cli import build_parser
from spikeflow.errors import UserError
from spikeflow.interop import to_nir
from spikeflow.kernels import cpu, plan, triton_engine
from spikeflow.models import NEURON_KINDS
from spikeflow.models.neurons import trainable_kinds
from spikeflow.nn import Sequential

ROOT = Path(__file__).resolve().parents[1]
#: the user guide's neuron page lists the surrogates and has the table of neuron models
GUIDE = (ROOT / "docs" / "guide" / "neurons.md").read_text()

#: The built-in surrogate classes and one name each (aliases such as "gaussian" share a class).
BUILTIN_SURROGATES = {
    sg.SURROGATES.get(name): name
    for name in reversed(sg.available())
    if sg.SURROGATES.get(name).__module__ == "spikeflow.surrogate"
}


def _choices(*path: str) -> tuple[str, ...]:
    """The choices of the option ``path[-1]`` of the sub-command ``path[:-1]``."""
    parser = build_parser()
    for name in path[:-1]:
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = sub.choices[name]
    action = next(a for a in parser._actions if path[-1] in a.option_strings)
    return tuple(action.choices)


# -- surrogates -----------------------------------------------------------------------------------


def test_surrogate_ids_are_dense_and_cover_every_builtin_surrogate():
    assert set(plan.SURROGATE_IDS) == set(BUILTIN_SURROGATES), "plan.SURROGATE_IDS"
    assert sorted(plan.SURROGATE_IDS.values()) == list(range(len(plan.SURROGATE_IDS)))


@pytest.mark.parametrize("cls", list(BUILTIN_SURROGATES), ids=lambda c: c.name)
def test_every_surrogate_has_a_cpu_constant_slot(cls):
    k = plan.SURROGATE_IDS[cls]
    cfg = plan.Config(False, False, 0, 0, True, k, 2.0)
    slots = cpu._surrogate_constants(cfg, torch.float32)
    assert len(slots) == 2 * len(plan.SURROGATE_IDS), "kernels/cpu.py: constant tuple length"
    filled = [i for i, c in enumerate(slots) if c is not None]
    assert filled == [2 * k, 2 * k + 1], "kernels/cpu.py: _surrogate_constants"


@pytest.mark.parametrize("cls", list(BUILTIN_SURROGATES), ids=lambda c: c.name)
def test_every_surrogate_has_kernel_branches(cls):
    k = plan.SURROGATE_IDS[cls]
    last = len(plan.SURROGATE_IDS) - 1
    if k < last:  # the last id is the final `else` of both kernels
        assert f"kind == {k}:" in inspect.getsource(cpu._surrogate_impl), "kernels/cpu.py"
        assert f"KIND == {k}:" in inspect.getsource(triton_engine), "kernels/triton_engine.py"
    else:
        assert f"kind == {k}" not in inspect.getsource(cpu._surrogate_impl)


@pytest.mark.parametrize("cls", list(BUILTIN_SURROGATES), ids=lambda c: c.name)
def test_every_surrogate_is_in_the_guide(cls):
    assert f"`{BUILTIN_SURROGATES[cls]}`" in GUIDE, "docs/guide/neurons.md: the list of surrogates"


def test_every_surrogate_has_a_finite_difference_test():
    from tests import test_surrogate

    assert set(test_surrogate.NAMES) == set(BUILTIN_SURROGATES.values())


# -- neuron kinds ---------------------------------------------------------------------------------


KINDS = NEURON_KINDS.available()


def test_every_neuron_kind_is_a_cli_choice():
    assert set(_choices("plot", "neuron", "--model")) == set(KINDS)
    assert set(_choices("train", "--neuron")) == set(trainable_kinds())


@pytest.mark.parametrize("name", KINDS)
def test_every_neuron_kind_has_a_kernel_plan_decision(name):
    kind = NEURON_KINDS.get(name)
    module = kind.cls()
    x = torch.rand(4, 2, 3)
    if kind.fused:
        assert module.kind in plan.KINDS
        made = plan.make_plan(module.kind, x, module.initial_state(x[0]), module.params())
        assert isinstance(made, plan.Plan), made
    else:
        assert module.kind == "", "a kind the kernels do not run must not name a kernel family"


@pytest.mark.parametrize("name", KINDS)
def test_every_neuron_kind_exports_to_nir_or_says_it_does_not(name):
    kind = NEURON_KINDS.get(name)
    net = Sequential(nn.Linear(3, 4), kind.cls())
    if kind.nir:
        graph = to_nir(net, input_shape=(3,))
        assert len(graph.nodes) >= 3
    else:
        with pytest.raises(UserError):
            to_nir(net, input_shape=(3,))


@pytest.mark.parametrize("name", KINDS)
def test_every_neuron_kind_has_a_guide_row(name):
    row = f"| `sf.nn.{NEURON_KINDS.get(name).cls.__name__}` |"
    assert row in GUIDE, f"docs/guide/neurons.md: the neuron table needs {row}"


@pytest.mark.parametrize("name", trainable_kinds())
def test_every_trainable_kind_builds_a_model(name):
    from spikeflow import models

    net = models.build("mlp", (1, 2, 2), 3, hidden=(5,), neuron=name)
    out = net(torch.rand(3, 2, 1, 2, 2))
    assert out.spikes.shape == (3, 2, 3)


def test_an_incomplete_extension_names_the_method_it_lacks():
    """The base classes' abstract methods say which method the new class must implement."""
    import numpy as np

    import spikeflow as sf
    from spikeflow.sim.groups import NeuronGroup

    class Bare(sf.nn.Neuron):
        pass

    bare = Bare(backend="cpu")
    with pytest.raises(NotImplementedError, match=r"Bare must implement params\(\)"):
        bare.params()
    with pytest.raises(NotImplementedError, match=r"Bare must implement initial_state\(x_t\)"):
        bare.initial_state(torch.zeros(2, 3))
    assert "backend='cpu'" in repr(bare) and repr(Bare()) == "Bare()"

    class Flat(sg.Surrogate):
        name = "flat"

    with pytest.raises(NotImplementedError, match=r"Flat must implement primitive\(x\)"):
        Flat().primitive(torch.zeros(3))
    with pytest.raises(NotImplementedError, match=r"Flat must implement grad\(x\)"):
        Flat().grad(torch.zeros(3))

    class Group(NeuronGroup):
        pass

    with pytest.raises(NotImplementedError, match=r"Group must implement build\(\)"):
        Group(4, "g").build(1, np.random.default_rng(0), 0.1)
