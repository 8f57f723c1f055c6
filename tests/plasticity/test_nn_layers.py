"""Plasticity on a ``spikeflow.nn`` layer: STDP driven by the layer's own input and output."""

import torch

import spikeflow as sf
from spikeflow.plasticity import STDP, normalize_weights


def test_stdp_trains_a_linear_lif_layer_towards_its_repeated_input():
    torch.manual_seed(0)
    linear = torch.nn.Linear(20, 4, bias=False)
    torch.nn.init.uniform_(linear.weight, 0.0, 0.2)
    lif = sf.nn.LIF(beta=0.9, threshold=1.0)
    pattern = torch.zeros(20)
    pattern[:5] = 1.0  # inputs 0-4 fire together, the rest stay silent
    rule = STDP(a_plus=0.02, a_minus=0.01, w_min=0.0, w_max=1.0)
    before = linear.weight.detach().clone()
    with torch.no_grad():
        for _ in range(5):
            pre = (torch.rand(50, 8, 20) < 0.3 * pattern).float()
            post, _ = lif(linear(pre))
            linear.weight.copy_(rule.run(linear.weight, pre, post, dt=1.0)[0])
            linear.weight.copy_(normalize_weights(linear.weight, 2.0))
    after = linear.weight
    assert post.sum() > 0
    active, silent = after[:, :5].mean(), after[:, 5:].mean()
    assert active > 2 * before[:, :5].mean() and silent < before[:, 5:].mean()
