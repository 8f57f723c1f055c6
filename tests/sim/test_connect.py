"""Connection drawing (statistics with fixed seeds, no self or repeated synapses where excluded)
and the memory estimate that refuses networks too large for the machine."""

import numpy as np
import pytest

from spikeflow import memory, sim
from spikeflow.cli import main
from spikeflow.errors import UserError
from spikeflow.sim import connect, models


def _pairs(pre, post, n_post):
    key = pre * n_post + post
    return key, np.unique(key).size == key.size


@pytest.mark.parametrize(("n_pre", "n_post", "p"), [(300, 500, 0.02), (40, 70, 0.5), (5, 9, 1.0)])
def test_bernoulli_counts_match_p_within_binomial_bounds(n_pre, n_post, p):
    pre, post = connect.bernoulli(np.random.default_rng(0), n_pre, n_post, p)
    key, distinct = _pairs(pre, post, n_post)
    assert distinct and np.all(np.diff(key) > 0)  # sorted by (pre, post), no pair twice
    assert pre.min() >= 0 and pre.max() < n_pre and post.min() >= 0 and post.max() < n_post
    total = n_pre * n_post
    sd = np.sqrt(total * p * (1 - p))
    assert abs(pre.size - total * p) <= 4 * sd  # binomial count, 4 standard deviations
    # every pre neuron's out-degree is Binomial(n_post, p): the mean over neurons within 4 sd
    out = np.bincount(pre, minlength=n_pre)
    assert abs(out.mean() - n_post * p) <= 4 * np.sqrt(n_post * p * (1 - p) / n_pre) + 1e-12
    # targets are uniform: each half of the post group gets half of the synapses
    low = (post < n_post // 2).sum() / pre.size
    assert abs(low - (n_post // 2) / n_post) <= 4 * np.sqrt(0.25 / pre.size) + 1e-12


def test_bernoulli_edge_probabilities_and_blocks(monkeypatch):
    rng = np.random.default_rng(1)
    assert connect.bernoulli(rng, 10, 10, 0.0)[0].size == 0
    pre, post = connect.bernoulli(rng, 4, 3, 1.0)
    np.testing.assert_array_equal(pre * 3 + post, np.arange(12))
    monkeypatch.setattr(connect, "CHUNK", 50)  # many blocks: the draw continues across them
    pre, post = connect.bernoulli(np.random.default_rng(2), 200, 100, 0.1)
    _, distinct = _pairs(pre, post, 100)
    assert distinct and abs(pre.size - 2000) <= 4 * np.sqrt(2000 * 0.9)


@pytest.mark.parametrize(("n", "k"), [(100, 7), (20, 15), (9, 9)])
def test_distinct_draws_are_distinct_and_uniform(n, k):
    rows = 4000
    vals = connect.distinct(np.random.default_rng(3), rows, n, k)
    assert vals.shape == (rows, k)
    assert np.all(np.diff(vals, axis=1) > 0)  # sorted and distinct within each row
    counts = np.bincount(vals.ravel(), minlength=n)  # each value chosen with probability k / n
    expect = rows * k / n
    assert np.all(np.abs(counts - expect) <= 5 * np.sqrt(expect * (1 - k / n)) + 1e-9)


def test_fixed_in_degree_and_fixed_total():
    a, b = sim.LIFGroup(50, name="a"), sim.LIFGroup(80, name="b")
    rng = np.random.default_rng(4)
    conn = sim.Synapses(a, b, target="e", in_degree=30).connectivity(rng)
    assert np.all(np.bincount(conn.post, minlength=80) == 30)
    key, distinct = _pairs(conn.pre, conn.post, 80)
    assert distinct and np.all(np.diff(key) > 0)
    conn = sim.Synapses(a, b, target="e", n_synapses=4000).connectivity(rng)
    assert conn.pre.size == 4000 and np.all(np.diff(conn.pre * 80 + conn.post) >= 0)
    # uniform pre and post: 4000 / 50 = 80 per pre neuron on average
    assert abs(np.bincount(conn.pre, minlength=50).mean() - 80.0) < 1e-12
    assert abs((conn.post < 40).mean() - 0.5) <= 4 * np.sqrt(0.25 / 4000)
    assert sim.Synapses(a, b, target="e", n_synapses=0).connectivity(rng).pre.size == 0


def test_in_degree_weight_array_is_in_sorted_order():
    """A per-synapse weight array follows the documented (pre, post) order for drawn rules."""
    a, b = sim.LIFGroup(6, name="a"), sim.LIFGroup(5, name="b")
    w = np.arange(15.0)
    syn = sim.Synapses(a, b, target="e", in_degree=3, weight=w)
    net = sim.Network(a, b, syn, seed=2)
    np.testing.assert_array_equal(net.weights(syn)[0], w)
    pre, post = net.connectivity(syn)
    assert np.all(np.diff(pre * 5 + post) > 0)


def test_memory_estimate_refuses_what_cannot_fit(monkeypatch):
    with pytest.raises(UserError, match=r"need about 2\.0 GiB, but this machine has 1\.0 GiB"):
        memory.check_fits("p=0.5", 2 * memory.GIB, available=memory.GIB)
    memory.check_fits("p=0.5", memory.GIB, available=2 * memory.GIB)
    monkeypatch.setattr(memory, "available_bytes", lambda: 10**6)
    a, b = sim.LIFGroup(1000, name="a"), sim.LIFGroup(1000, name="b")
    net = sim.Network(a, b, sim.Synapses(a, b, target="e", p=0.5, name="ab"))
    with pytest.raises(UserError, match=r"5e\+05 synapses \(ab: p=0\.5, 1000 x 1000 neurons\)"):
        net.run(1.0)
    with pytest.raises(UserError, match=r"neurons=4000 \(3\.2e\+05 synapses at p=0\.02"):
        models.build("cuba", 4000)


def test_simulate_refuses_a_network_larger_than_memory_at_once(tmp_path, capsys):
    """10^9 neurons at 80 inputs each need terabytes: refused before anything is allocated
    (drawing them would not end, allocating them would fail)."""
    args = ["simulate", "cuba", "--neurons", "1000000000", "--out", str(tmp_path)]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "neurons=1000000000" in err and "GiB" in err and "Traceback" not in err
    assert not (tmp_path / "result.json").exists()
