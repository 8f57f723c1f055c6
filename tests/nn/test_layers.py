import pytest
import torch
from torch import nn

import spikeflow as sf


def test_time_distributed_equals_per_step_application():
    conv = nn.Conv2d(2, 3, 3, padding=1)
    td = sf.nn.TimeDistributed(conv)
    x = torch.rand(4, 5, 2, 8, 8)
    y = td(x)
    assert y.shape == (4, 5, 3, 8, 8)
    for t in range(4):
        torch.testing.assert_close(y[t], conv(x[t]))


def test_time_distributed_pooling_and_batchnorm_over_time_and_batch():
    x = torch.rand(3, 4, 2, 6, 6)
    assert sf.nn.TimeDistributed(nn.AvgPool2d(2))(x).shape == (3, 4, 2, 3, 3)
    bn = sf.nn.TimeDistributed(nn.BatchNorm2d(2))
    y = bn(x)
    # normalised over T*B*H*W jointly
    torch.testing.assert_close(y.mean(dim=(0, 1, 3, 4)), torch.zeros(2), atol=1e-5, rtol=0)


def test_dropout_uses_one_mask_across_time():
    drop = sf.nn.Dropout(0.5)
    x = torch.ones(10, 64, 32)
    y = drop(x)
    assert torch.equal(y[0] == 0, y[-1] == 0)  # same neurons dropped at every step
    assert set(y.unique().tolist()) <= {0.0, 2.0}
    assert 0.35 < (y[0] == 0).float().mean() < 0.65
    drop.eval()
    assert torch.equal(drop(x), x)


def test_sequential_threads_states_and_wraps_plain_layers():
    torch.manual_seed(0)
    net = sf.nn.Sequential(
        nn.Linear(5, 8), sf.nn.LIF(beta=0.9), nn.Dropout(0.1), nn.Linear(8, 3), sf.nn.LIF(beta=0.9)
    )
    assert isinstance(net[0], sf.nn.TimeDistributed)
    assert isinstance(net[2], sf.nn.Dropout)
    net.eval()
    x = torch.rand(20, 2, 5) * 2
    out, states = net(x)
    assert out.shape == (20, 2, 3)
    assert states[0] is None and isinstance(states[1], sf.functional.LIFState)
    # chunked == whole: the states carry over
    a, st = net(x[:7])
    b, _ = net(x[7:], st)
    assert torch.equal(torch.cat([a, b]), out)


def test_sequential_trace_records_every_layer():
    net = sf.nn.Sequential(nn.Linear(4, 6), sf.nn.LIF(), nn.Linear(6, 2), sf.nn.LIF())
    x = torch.rand(5, 3, 4)
    records = net.trace(x)
    assert len(records) == 4
    assert isinstance(records[1], sf.Trace) and records[1].spikes.shape == (5, 3, 6)
    assert torch.equal(records[3].spikes, net(x)[0])


def test_sequential_trace_feeds_on_after_a_doubly_nested_sequential():
    torch.manual_seed(0)
    inner = sf.nn.Sequential(sf.nn.Sequential(nn.Linear(4, 6), sf.nn.LIF(threshold=0.1)))
    net = sf.nn.Sequential(inner, nn.Linear(6, 2))
    x = torch.rand(5, 3, 4)
    records = net.trace(x)
    assert records[0][0][1].spikes.shape == (5, 3, 6)
    torch.testing.assert_close(records[1], net(x)[0])


def test_convolutional_snn_in_a_few_lines_trains():
    torch.manual_seed(0)
    net = sf.nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        sf.nn.LIF(beta=0.8),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(4 * 4 * 4, 2),
        sf.nn.LIF(beta=0.8),
    )
    x = torch.rand(6, 8, 1, 8, 8)
    y = torch.arange(8) % 2
    x[:, y == 1, :, :4] += 0.8  # class 1 is brighter on top
    opt = torch.optim.Adam(net.parameters(), lr=0.05)
    for _ in range(30):
        counts = net(x)[0].sum(0)
        loss = nn.functional.cross_entropy(counts, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert (net(x)[0].sum(0).argmax(1) == y).float().mean() == 1.0


@pytest.mark.parametrize("cls", [sf.nn.TimeDistributed, sf.nn.Sequential])
def test_layers_reject_single_step_input(cls):
    with pytest.raises(sf.UserError, match="expected at least 2 dims"):
        cls(nn.Identity())(torch.zeros(4))


def test_sequential_leaves_time_major_modules_unwrapped():
    class CumulativeMax(nn.Module):
        time_major = True

        def forward(self, x):
            return x.cummax(dim=0).values

    net = sf.nn.Sequential(CumulativeMax(), nn.Linear(3, 3))
    assert isinstance(net[0], CumulativeMax)
    x = torch.rand(4, 2, 3)
    out, _ = net(x)
    torch.testing.assert_close(out, net[1](x.cummax(dim=0).values))
