"""Reward-modulated STDP in the simulator: two copies of one network learn opposite answers.

Twenty Poisson inputs drive one LIF neuron; pattern 0 is inputs 0-9 at 40 Hz, pattern 1 inputs
10-19. After each 100 ms presentation a dopamine-like reward follows: +1 if the neuron fired and
the pattern is the copy's target, -1 if it fired for the other one. Copy 0 is rewarded for
pattern 0, copy 1 for pattern 1 (batch=2: one compiled network, independent copies).

python examples/rstdp_sim.py             # prints weights and answers before and after, < 5 s

``tests/sim/test_rstdp.py`` runs this script and checks that each copy learns its pattern.
"""

import numpy as np

from spikeflow import sim
from spikeflow.plasticity import STDP, RewardSTDP

n = 20
inp = sim.PoissonGroup(n, rates=0.0, name="inp")
out = sim.LIFGroup(1, tau_m=20.0, v_rest=-65.0, v_th=-50.0, v_reset=-65.0, refractory=2.0)
rule = STDP(a_plus=0.1, a_minus=0.12, w_min=0.0, w_max=4.0)
rstdp = RewardSTDP(rule, tau_e=200.0, lr=0.5, tau_d=20.0)  # ms
syn = sim.Synapses(inp, out, target="v", rule="all", weight=2.0, stdp=rstdp)
mon = sim.SpikeMonitor(out)
net = sim.Network(inp, out, syn, mon, dt=0.5, batch=2, seed=0)
rates = np.zeros((2, n))
rates[0, :10] = rates[1, 10:] = 40.0
target = np.array([0, 1])


def present(pattern: int, plasticity: bool = True) -> np.ndarray:
    """Show a pattern for 100 ms; spikes of the output neuron per copy."""
    net.set_drive(inp, rates[pattern])
    mon.clear()
    net.run(100.0, plasticity=plasticity)
    return mon.count(2)[:, 0]


def report(when: str) -> np.ndarray:
    """Print mean weights and spike counts [copy, pattern] over 10 plastic-free presentations."""
    answers = np.array([[present(p, False) for p in (0, 1)] for _ in range(10)]).sum(0).T
    w = net.weights(syn)  # synapse k comes from input k
    for b in range(2):
        print(
            f"{when} copy {b} (rewarded for pattern {b}): mean weight from pattern 0 "
            f"{w[b, :10].mean():.2f}, pattern 1 {w[b, 10:].mean():.2f}; spikes for 10 x "
            f"pattern 0: {answers[b, 0]}, pattern 1: {answers[b, 1]}"
        )
    return answers


before = report("before")
gen = np.random.default_rng(0)
for _ in range(150):
    p = int(gen.integers(2))
    fired = present(p) > 0
    net.set_drive(inp, np.zeros(n))
    net.add_reward(np.where(fired, np.where(target == p, 1.0, -1.0), 0.0))
    net.run(100.0)  # the reward arrives after the pattern; the eligibility bridges the gap
    net.rest()
after = report("after ")
