"""Every ``UserError`` of the simulator and the plasticity rules not pinned elsewhere: one
line, naming the argument, the value received and what was expected (one table)."""

import numpy as np
import pytest
import torch

from spikeflow import sim
from spikeflow.errors import UserError
from spikeflow.plasticity import (
    STDP,
    lateral_inhibition,
    normalize_incoming,
    normalize_weights,
    winner_take_all,
)
from spikeflow.sim import models
from spikeflow.sim.diehl_cook import DiehlCook


def _a():
    return sim.LIFGroup(3, name="a")


def _built(*extra):
    a, b = sim.LIFGroup(3, name="a"), sim.LIFGroup(4, name="b")
    syn = sim.Synapses(a, b, target="e", rule="all", name="ab")
    net = sim.Network(a, b, syn, *extra)
    net.run(0.1)
    return net, a, b, syn


def _second_add():
    net = _built()[0]
    net.add(sim.LIFGroup(2, name="c"))


CASES = [
    # groups and values
    (
        lambda: sim.LIFGroup(2, e_rev={"e": 0.0, "i": -80.0}),
        "only valid with synapse='conductance'",
    ),
    (lambda: sim.LIFGroup(2, g_init={"x": 1.0}), "g_init key"),
    (lambda: sim.IzhikevichGroup(2, preset=None, a=0.02), "needs a preset or all of a, b, c, d"),
    (lambda: sim.Network(sim.LIFGroup(2, tau_syn={"e": 0.0})).run(1.0), r"tau_syn\['e'\]"),
    (lambda: sim.Network(sim.LIFGroup(2, v_init=[1.0, np.nan])).run(1.0), "non-finite"),
    (lambda: sim.Network(sim.LIFGroup(2, tau_m="slow")).run(1.0), "tau_m='slow' is not valid"),
    (lambda: sim.Normal(float("nan"), 1.0), r"Normal\.mean=nan is not valid"),
    (lambda: sim.Normal(0.0, float("inf")), r"Normal\.std=inf is not valid"),
    (lambda: sim.Uniform(0.0, float("inf")), r"Uniform\.high=inf is not valid"),
    (lambda: sim.Normal(0.0, -1.0), r"Normal\.std"),
    (
        lambda: sim.Network(
            sim.PoissonGroup(3, sim.TimedArray(np.ones((2, 4)), step=1.0), name="p")
        ).run(1.0),
        r"p\.rates \(TimedArray\) has shape \(2, 4\); expected \[S, 3\]",
    ),
    (lambda: sim.TimedArray(np.ones((2, 3)), step=0.0), r"TimedArray\.step"),
    # inputs and monitors
    (lambda: sim.SpikeGeneratorGroup(2, [0, 1], [1.0]), "indices has 2 entries but times has 1"),
    (lambda: sim.StateMonitor(_a(), "v", indices=[]), "indices must be non-empty"),
    (lambda: sim.StateMonitor(_a(), "v", indices=[3]), r"within \[0, 2\]"),
    (lambda: sim.StateMonitor(_a(), "v", every=0), "every=0"),
    # synapses
    (lambda: sim.Synapses(_a(), _a(), target="e", i=[0]), "i and j must be given together"),
    (lambda: sim.Synapses(_a(), _a(), target="e", i=[0, 1], j=[0]), "i has 2 entries but j has 1"),
    (lambda: sim.Synapses(_a(), _a(), target="e", n_synapses=-1), "n_synapses=-1"),
    (lambda: sim.Synapses(_a(), _a(), target="e", p=0.1, n_synapses=3), "exactly one of"),
    (lambda: sim.Synapses(_a(), _a(), target="e", in_degree=0), "in_degree=0"),
    (
        lambda: sim.Network(
            *(g := (_a(), sim.LIFGroup(3, name="b"))),
            sim.Synapses(*g, target="e", i=[0, 0], j=[1, 1]),
        ).run(1.0),
        "the same synapse twice",
    ),
    (
        lambda: sim.Network(
            *(g := (_a(), sim.LIFGroup(3, name="b"))),
            sim.Synapses(*g, target="e", rule="all", weight=np.ones(4)),
        ).run(1.0),
        r"weight has shape \(4,\); expected a number, \[9\] or \[1, 9\]",
    ),
    (
        lambda: sim.Network(
            *(g := (_a(), sim.LIFGroup(3, name="b"))),
            sim.Synapses(*g, target="e", rule="all", weight=np.nan),
        ).run(1.0),
        "weight contains NaN",
    ),
    (
        lambda: sim.Network(
            *(g := (_a(), sim.LIFGroup(3, name="b"))),
            sim.Synapses(*g, target="e", rule="all", weight="heavy"),
        ).run(1.0),
        "weight='heavy' is not valid",
    ),
    (
        lambda: sim.Network(
            *(g := (_a(), sim.LIFGroup(3, name="b"))),
            sim.Synapses(*g, target="e", rule="all", delay=np.ones(2, dtype=int)),
        ).run(1.0),
        r"delay has shape \(2,\); expected a number or \[9\]",
    ),
    (
        lambda: sim.Network(
            *(g := (_a(), sim.LIFGroup(3, name="b"))),
            sim.Synapses(*g, target="e", rule="all", delay=1.5),
        ).run(1.0),
        "non-negative integer",
    ),
    # the network
    (_second_add, "cannot add objects to a network after its first run"),
    (lambda: sim.Network(object()), "cannot add <object"),
    (
        lambda: sim.Network(
            *(g := (_a(), sim.LIFGroup(3, name="b"))),
            sim.Synapses(*g, target="e", rule="all"),
            sim.Synapses(*g, target="e", p=0.5),
        ),
        "two synapses are named 'a->b:e'",
    ),
    (lambda: sim.Network(sim.Synapses(_a(), _a(), target="e", rule="all")).run(1.0), "uses group"),
    (lambda: _built()[0].state(sim.LIFGroup(2, name="z"), "v"), "group 'z' is not in the network"),
    (lambda: _built()[0].state(_built()[1], "u"), "var='u' is not a variable of group 'a'"),
    (
        lambda: _built()[0].weights(sim.Synapses(_a(), _a(), target="e", rule="all")),
        r"Synapses\('a->a:e'\) is not in the network",
    ),
    (lambda: _built()[0].set_drive(sim.PoissonGroup(2, 1.0, name="q"), 1.0), "'q' is not in"),
    (lambda: _built()[0].run(-1.0), "duration=-1.0"),
    (lambda: sim.Network(seed=-1), "seed=-1"),
    (
        lambda: (lambda n, p: n.set_drive(p, 20000.0))(
            sim.Network(p := sim.PoissonGroup(2, 1.0, name="p")), p
        ),
        r"p\.rates ranges over \[20000, 20000\] Hz",
    ),
    (lambda: models.build("cuba", 5), "neurons=5 is too small"),
    (lambda: models.simulate("cuba", 100, duration_ms=10.0, dt=float("nan")), "dt=nan"),
    (lambda: sim.Network(sim.LIFGroup(2), dt=float("nan")).run(1.0), "dt=nan"),
    (lambda: sim.Network(sim.LIFGroup(2)).run(float("inf")), "duration=inf"),
    (lambda: models.simulate("cuba", 100, duration_ms=0.25, dt=0.1), "whole number of steps"),
    # the Diehl & Cook model
    (
        lambda: DiehlCook(4, 2).fit(np.zeros((3, 5))),
        r"x has shape \(3, 5\); expected \[samples, 4\]",
    ),
    (lambda: DiehlCook(4, 0), "neurons=0"),
    # plasticity on tensors
    (lambda: STDP(pairing="closest"), "pairing='closest'"),
    (lambda: STDP(w_min=float("nan")), "w_max=1.0 must exceed w_min=nan"),
    (lambda: STDP().decays(0.0), "dt=0.0"),
    (
        lambda: STDP().run(
            torch.zeros(3, 2, dtype=torch.int64), torch.zeros(5, 1, 2), torch.zeros(5, 1, 3), 1.0
        ),
        "expected a floating dtype",
    ),
    (lambda: normalize_weights(torch.ones(3), 1.0), r"w has shape \(3,\); expected \[N_post"),
    (lambda: normalize_incoming(None, None, -1.0), "total=-1.0"),
    (lambda: lateral_inhibition(0, 1.0), "n=0"),
    (lambda: lateral_inhibition(3, -1.0), "strength=-1.0"),
    (lambda: winner_take_all(torch.zeros(2, 3), torch.zeros(2, 3), k=-2), "k=-2"),
]


@pytest.mark.parametrize(("make", "match"), CASES)
def test_user_errors(make, match):
    with pytest.raises(UserError, match=match) as info:
        make()
    assert "\n" not in str(info.value)
