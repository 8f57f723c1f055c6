"""Input encodings of the trainer: per-sample seeding, statistics, errors."""

import pytest
import torch

from spikeflow.errors import UserError
from spikeflow.train.encoding import encode_batch, sample_uniform


def test_a_sample_gets_the_same_spikes_in_any_batch():
    x = torch.rand(6, 3, 4)
    whole = encode_batch(x, "rate", 5, key=11, index=torch.arange(6))
    part = encode_batch(x[[4, 1]], "rate", 5, key=11, index=torch.tensor([4, 1]))
    assert whole.shape == (5, 6, 3, 4)
    assert torch.equal(whole[:, [4, 1]], part)
    # Another key or another index gives other spikes.
    assert not torch.equal(encode_batch(x, "rate", 5, key=12, index=torch.arange(6)), whole)
    shifted = encode_batch(x, "rate", 5, key=11, index=torch.arange(1, 7))
    assert not torch.equal(shifted, whole)


def test_uniforms_are_pinned_and_uncorrelated():
    u = sample_uniform(5, torch.tensor([0, 3]), 2, (2,))
    assert u.shape == (2, 2, 2) and u.dtype == torch.float32
    assert torch.equal(u, sample_uniform(5, torch.tensor([0, 3]), 2, (2,)))
    # Golden values: the stream of one sample must not drift between versions.
    golden = torch.tensor([0.13016098737716675, 0.8172805309295654, 0.5514640212059021])
    assert torch.allclose(sample_uniform(0, torch.tensor([0]), 3, (1,)).flatten(), golden)
    big = sample_uniform(1, torch.arange(200), 20, (50,))
    assert abs(float(big.mean()) - 0.5) < 0.01 and abs(float(big.var()) - 1 / 12) < 0.002
    pairs = (big[:, :-1], big[:, 1:]), (big[:-1], big[1:]), (big[..., :-1], big[..., 1:])
    for a, b in pairs:  # neighbouring samples, steps and elements
        assert abs(float(torch.corrcoef(torch.stack([a.flatten(), b.flatten()]))[0, 1])) < 0.01


def test_rate_spikes_have_the_right_probability():
    p = torch.tensor([[0.0, 0.2, 0.7, 1.0]]).expand(500, 4)
    s = encode_batch(p, "rate", 40, key=3)
    assert set(s.unique().tolist()) <= {0.0, 1.0}
    assert torch.allclose(s.mean((0, 1)), torch.tensor([0.0, 0.2, 0.7, 1.0]), atol=0.01)
    half = encode_batch(p, "rate", 40, gain=0.5, key=3)
    assert torch.allclose(half.mean((0, 1)), torch.tensor([0.0, 0.1, 0.35, 0.5]), atol=0.01)


def test_direct_and_latency_are_deterministic():
    x = torch.tensor([[0.0, 0.5, 1.0]])
    assert torch.equal(encode_batch(x, "direct", 3, gain=2.0), (2 * x).expand(3, 1, 3))
    lat = encode_batch(x, "latency", 4)
    # One spike per non-zero value, earlier for larger values; zero never spikes.
    assert lat[:, 0].nonzero().tolist() == [[0, 2], [2, 1]]
    assert torch.equal(lat, encode_batch(x, "latency", 4, key=9, index=torch.tensor([7])))


def test_errors_name_the_argument():
    x = torch.full((2, 3), 0.8)
    with pytest.raises(UserError, match=r"gain=2.0 .*reaches 1.6"):
        encode_batch(x, "rate", 4, gain=2.0)
    with pytest.raises(UserError, match="encoder='poisson'"):
        encode_batch(x, "poisson", 4)
    with pytest.raises(UserError, match="num_steps=0"):
        encode_batch(x, "rate", 0)
    with pytest.raises(UserError, match="key=-1"):
        sample_uniform(-1, torch.arange(2), 3, (1,))


def test_registry_and_renamed_steps_keyword():
    from spikeflow.train.encoding import ENCODER_REGISTRY

    assert set(ENCODER_REGISTRY.available()) == {"rate", "latency", "direct"}
    x = torch.rand(2, 3)
    with pytest.warns(FutureWarning, match="'num_steps'"):
        old = encode_batch(x, "direct", steps=3)
    assert torch.equal(old, encode_batch(x, "direct", num_steps=3))
