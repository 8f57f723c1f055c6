"""Reward-modulated STDP in the compiled engine: equivalence with the tensor ``reward_stdp``,
closed-form eligibility and reward integrals, the reward API and its errors, and a learning task.
"""

import dataclasses
import math
import runpy
from pathlib import Path

import numpy as np
import pytest
import torch

from spikeflow import sim
from spikeflow.errors import UserError
from spikeflow.plasticity import STDP, RewardSTDP, reward_stdp

DT = 0.5
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "rstdp_sim.py"
RULE = STDP(a_plus=0.03, a_minus=0.035, a3_plus=0.01, a3_minus=0.004, w_min=0.0, w_max=12.0)
PLAIN = STDP(a_plus=0.005, a_minus=0.006, w_min=0.0, w_max=12.0)


def _network(rstdp, *, batch=1, seed=0, n_pre=6, n_post=3, generator=False):
    """Inputs -> LIF neurons, all-to-all with strong weights on ``v`` (two or three coincident
    input spikes fire a neuron); a second, plain-STDP projection onto other neurons."""
    if generator:
        gen = np.random.default_rng(seed)
        idx = np.repeat(np.arange(n_pre), 60)
        steps = np.concatenate([gen.choice(1200, 60, replace=False) for _ in range(n_pre)])
        pre = sim.SpikeGeneratorGroup(n_pre, idx, steps * DT, name="pre")
    else:
        pre = sim.PoissonGroup(n_pre, rates=60.0, name="pre")
    post = sim.LIFGroup(n_post, tau_m=20.0, v_rest=-65.0, v_th=-50.0, v_reset=-65.0, name="post")
    other = sim.LIFGroup(2, tau_m=20.0, v_rest=-65.0, v_th=-50.0, v_reset=-65.0, name="other")
    syn = sim.Synapses(pre, post, target="v", rule="all", weight=sim.Uniform(3, 9), stdp=rstdp)
    plain = sim.Synapses(pre, other, target="v", rule="all", weight=sim.Uniform(3, 9), stdp=PLAIN)
    mons = sim.SpikeMonitor(pre), sim.SpikeMonitor(post), sim.SpikeMonitor(other)
    net = sim.Network(pre, post, other, syn, plain, *mons, dt=DT, batch=batch, seed=seed)
    return net, syn, plain, mons


def _trains(mon, n, steps, b):
    x = torch.zeros(steps, 1, n, dtype=torch.float64)
    keep = mon.b == b
    x[mon.steps[keep], 0, mon.i[keep]] = 1.0
    return x


def _dense(net, syn, b):
    """Weights of copy ``b`` as ``[N_post, N_pre]``."""
    p, q = net.connectivity(syn)
    w = np.zeros((syn.post.n, syn.pre.n))
    w[q, p] = net.weights(syn)[b]
    return w


def _check_against_tensors(net, syn, plain, mons, w0, w0_plain, rstdp, reward):
    """The engine's weights equal ``reward_stdp`` (and plain STDP) over the recorded trains.

    ``reward`` is ``[T, B]``, the reward of every step and copy."""
    steps = reward.shape[0]
    assert net.t_step == steps
    for b in range(net.batch):
        pre = _trains(mons[0], syn.pre.n, steps, b)
        post = _trains(mons[1], syn.post.n, steps, b)
        assert post.sum() > 20  # the post neurons fire, so there is something to learn
        w0_t = torch.tensor(w0[b])
        w_t, state = rstdp.run(w0_t, pre, post, torch.tensor(reward[:, b]), DT)
        assert not np.allclose(w_t.numpy(), w0[b])
        np.testing.assert_allclose(_dense(net, syn, b), w_t.numpy(), rtol=1e-12, atol=1e-12)
        e = np.zeros_like(w0[b])
        p, q = net.connectivity(syn)
        e[q, p] = net.eligibility(syn)[b]
        np.testing.assert_allclose(e, state.eligibility.numpy(), rtol=1e-10, atol=1e-12)
        other = _trains(mons[2], plain.post.n, steps, b)
        w_p, _ = PLAIN.run(torch.tensor(w0_plain[b]), pre, other, DT)
        np.testing.assert_allclose(_dense(net, plain, b), w_p.numpy(), rtol=1e-12, atol=1e-12)


def _initial(net, syn, plain):
    return (
        [_dense(net, syn, b) for b in range(net.batch)],
        [_dense(net, plain, b) for b in range(net.batch)],
    )


@pytest.mark.parametrize("pairing", ["all", "nearest"])
def test_held_reward_switching_on_mid_run_matches_the_tensor_version(pairing):
    rule = dataclasses.replace(RULE, pairing=pairing)
    rstdp = RewardSTDP(rule, tau_e=80.0, lr=0.01)
    net, syn, plain, mons = _network(rstdp, generator=True)
    w0, w0_plain = _initial(net, syn, plain)
    net.run(150.0)  # no reward yet: eligibility only
    np.testing.assert_array_equal(_dense(net, syn, 0), w0[0])
    assert np.abs(net.eligibility(syn)).max() > 0.01
    net.set_reward(0.5)
    net.run(200.0)
    net.set_reward(-0.25, syn)
    net.run(250.0)
    reward = np.repeat([0.0, 0.5, -0.25], [300, 400, 500])[:, None]
    _check_against_tensors(net, syn, plain, mons, w0, w0_plain, rstdp, reward)


def test_schedule_plus_level_and_fast_eligibility_match_the_tensor_version():
    # tau_e = 2 ms: the eligibility's scale falls below ELIG_RESCALE every ~460 steps
    rstdp = RewardSTDP(RULE, tau_e=2.0, lr=0.3)
    net, syn, plain, mons = _network(rstdp, generator=True, seed=3)
    w0, w0_plain = _initial(net, syn, plain)
    gen = np.random.default_rng(5)
    sched = gen.normal(0.0, 0.5, 1200) * (gen.random(1200) < 0.3)
    net.set_reward(0.05)
    net.run(300.0, reward=sched[:600])
    net.run(300.0, reward={syn: sched[600:]})
    _check_against_tensors(net, syn, plain, mons, w0, w0_plain, rstdp, 0.05 + sched[:, None])


def test_batch_copies_with_different_rewards_and_dopamine_decay():
    tau_d = 30.0
    rstdp = RewardSTDP(RULE, tau_e=100.0, lr=0.01, tau_d=tau_d)
    net, syn, plain, mons = _network(rstdp, batch=2, seed=1)
    w0, w0_plain = _initial(net, syn, plain)
    net.run(100.0)
    net.add_reward([1.0, -0.6])
    net.run(100.0)
    net.add_reward(0.5)
    net.run(200.0, reward=np.stack([np.zeros(400), np.full(400, 0.2)], axis=1))
    t = np.arange(800)
    reward = np.zeros((800, 2))
    for start, amp in ((200, [1.0, -0.6]), (400, [0.5, 0.5])):
        on = t >= start
        reward[on] += np.exp(-(t[on, None] - start) * DT / tau_d) * np.array(amp)
    reward[400:, 1] += 0.2
    level = np.array([1.0, -0.6]) * math.exp(-600 * DT / tau_d) + 0.5 * math.exp(-400 * DT / tau_d)
    np.testing.assert_allclose(net.reward_level(syn), level, rtol=1e-12)
    assert not np.allclose(_dense(net, syn, 0), _dense(net, syn, 1))
    _check_against_tensors(net, syn, plain, mons, w0, w0_plain, rstdp, reward)


def _one_pair(rstdp, w0=1.0):
    """One pre spike at step 10; the post neuron is forced to spike at step 30 (lag 10 ms)."""
    pre = sim.SpikeGeneratorGroup(1, [0], [10 * DT], name="pre")
    drv = sim.SpikeGeneratorGroup(1, [0], [29 * DT], name="drv")
    post = sim.LIFGroup(1, tau_m=20.0, v_rest=-65.0, v_th=-50.0, v_reset=-65.0, name="post")
    force = sim.Synapses(drv, post, target="v", rule="all", weight=100.0)
    syn = sim.Synapses(pre, post, target="v", rule="all", weight=w0, stdp=rstdp)
    mon = sim.SpikeMonitor(post)
    net = sim.Network(pre, drv, post, force, syn, mon, dt=DT)
    return net, syn, mon


@pytest.mark.parametrize("r", [0.7, -0.7])
def test_one_pair_closed_form(r):
    rule = STDP(tau_plus=17.0, a_plus=0.2, a_minus=0.3, w_min=-5.0, w_max=5.0)
    tau_e, lr = 40.0, 0.8
    net, syn, mon = _one_pair(RewardSTDP(rule, tau_e=tau_e, lr=lr))
    net.run(60 * DT)  # steps 0..59, no reward: weights unchanged, eligibility non-zero
    assert mon.steps.tolist() == [30]
    e30 = 0.2 * math.exp(-20 * DT / 17.0)  # pre at step 10, post at step 30
    d = math.exp(-DT / tau_e)
    assert net.weights(syn)[0, 0] == 1.0
    assert net.eligibility(syn)[0, 0] == pytest.approx(e30 * d**29, rel=1e-12)
    net.set_reward(r)
    net.run(40 * DT)  # steps 60..99 rewarded: dw = lr * r * sum_t e30 * d**(t - 30)
    integral = e30 * sum(d ** (t - 30) for t in range(60, 100))
    assert integral == pytest.approx(e30 * d**30 * (1 - d**40) / (1 - d), rel=1e-12)
    assert net.weights(syn)[0, 0] == pytest.approx(1.0 + lr * r * integral, rel=1e-12)
    assert (net.weights(syn)[0, 0] > 1.0) == (r > 0)  # negative reward after pre->post depresses
    assert net.eligibility(syn)[0, 0] == pytest.approx(e30 * d**69, rel=1e-12)
    assert net.reward_level(syn).tolist() == [r]  # held: no tau_d


def test_plasticity_off_and_rest():
    net, syn, _ = _one_pair(RewardSTDP(STDP(a_plus=0.2), tau_e=40.0, lr=1.0, tau_d=10.0))
    net.run(40 * DT)
    e = net.eligibility(syn)
    net.add_reward(2.0)
    net.run(10 * DT, plasticity=False)  # weights and eligibility frozen, the reward level decays
    assert net.weights(syn)[0, 0] == 1.0
    np.testing.assert_array_equal(net.eligibility(syn), e)
    assert net.reward_level(syn)[0] == pytest.approx(2.0 * math.exp(-10 * DT / 10.0), rel=1e-12)
    net.rest()  # eligibility and the decaying reward level go to zero
    assert net.eligibility(syn)[0, 0] == 0.0 and net.reward_level(syn)[0] == 0.0
    held, hsyn, _ = _one_pair(RewardSTDP(STDP(a_plus=0.2), tau_e=40.0))
    held.set_reward(0.3)
    held.rest()  # a held reward level is a setting: kept
    assert held.reward_level(hsyn)[0] == 0.3


def test_errors():
    with pytest.raises(UserError, match="tau_e=0"):
        RewardSTDP(RULE, tau_e=0)
    with pytest.raises(UserError, match="tau_e=nan"):
        RewardSTDP(RULE, tau_e=float("nan"))
    with pytest.raises(UserError, match="lr=-1"):
        RewardSTDP(RULE, lr=-1.0)
    with pytest.raises(UserError, match="tau_d=-3"):
        RewardSTDP(RULE, tau_d=-3.0)
    with pytest.raises(UserError, match=r"rule\.mode='multiplicative'"):
        RewardSTDP(STDP(mode="multiplicative"))
    with pytest.raises(UserError, match=r"expected a spikeflow\.plasticity\.STDP"):
        RewardSTDP("stdp")
    with pytest.raises(UserError, match=r"rule\.mode='multiplicative'"):
        z = torch.zeros(5, 1, 1)
        reward_stdp(STDP(mode="multiplicative"), torch.zeros(1, 1), z, z, torch.zeros(5), 1.0)
    a, b = sim.LIFGroup(2, name="a"), sim.LIFGroup(2, name="b")
    with pytest.raises(UserError, match=r"stdp='stdp' .* expected an STDP, a RewardSTDP or None"):
        sim.Synapses(a, b, target="e", rule="all", stdp="stdp")

    net, _, plain, _ = _network(RewardSTDP(RULE), batch=2)
    with pytest.raises(
        UserError, match=r"reward has shape \(3,\); expected a number or \[B\] = \[2\]"
    ):
        net.set_reward([1.0, 2.0, 3.0])
    with pytest.raises(UserError, match="NaN"):
        net.add_reward([0.0, float("nan")])
    with pytest.raises(UserError, match="reward='high' is not valid"):
        net.set_reward("high")
    with pytest.raises(UserError, match=r"expected \[steps\] = \[20\] or \[steps, B\] = \[20, 2\]"):
        net.run(10.0, reward=np.zeros(5))
    with pytest.raises(UserError, match=r"reward has shape \(20, 3\)"):
        net.run(10.0, reward=np.zeros((20, 3)))
    with pytest.raises(UserError, match="pre->other:v is not reward-modulated"):
        net.set_reward(1.0, plain)
    with pytest.raises(UserError, match="not reward-modulated"):
        net.eligibility(plain)
    with pytest.raises(UserError, match="not in the network"):
        net.set_reward(1.0, sim.Synapses(a, b, target="e", rule="all"))
    assert net.t_step == 0  # the bad runs did not advance the clock
    bare = sim.Network(a, b, sim.Synapses(a, b, target="e", rule="all", stdp=RULE))
    with pytest.raises(UserError, match="no reward-modulated synapses"):
        bare.set_reward(1.0)
    with pytest.raises(UserError, match="no reward-modulated synapses"):
        bare.run(1.0, reward=np.zeros(10))


def test_reward_teaches_each_copy_to_answer_its_pattern(capsys):
    """examples/rstdp_sim.py: two input patterns (inputs 0-9 or 10-19 at 40 Hz), one output
    neuron, two copies; after each presentation a dopamine-like reward, +1 if the output fired
    for the copy's target pattern, -1 if it fired for the other. Both copies start out answering
    both patterns alike; copy 0 must learn pattern 0 and copy 1 pattern 1."""
    done = runpy.run_path(str(EXAMPLE), run_name="__main__")
    before, after, w = done["before"], done["after"], done["net"].weights(done["syn"])
    assert before.min() > 10 and before.max() < 2 * before.min()  # no preference yet
    assert after[0, 0] > 4 * max(after[0, 1], 1) and after[1, 1] > 4 * max(after[1, 0], 1)
    # synapse k comes from input k
    assert w[0, :10].mean() > 2 * w[0, 10:].mean() and w[1, 10:].mean() > 2 * w[1, :10].mean()
    assert "after  copy 1" in capsys.readouterr().out
