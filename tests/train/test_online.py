"""Online training through time (OTTT): flat memory in T, the paper's gradient, learning."""

import pytest
import torch

from spikeflow import data, models
from spikeflow import loss as losses
from spikeflow.errors import UserError
from spikeflow.functional.lif import LIFState, lif_step
from spikeflow.nn import TimeDistributed
from spikeflow.train.config import TrainConfig
from spikeflow.train.online import bias_excess, online_step, trace_decays
from spikeflow.train.trainer import Trainer

B = 5


def mlp(hidden=(8,), beta=0.8, **options):
    torch.manual_seed(0)
    return models.build("mlp", (1, 3, 3), 3, hidden=hidden, beta=beta, threshold=0.5, **options)


def rate_ce(y):
    return lambda out: losses.rate_ce(out.spikes, out.v, y)


class PeakSaved:
    """The largest number of bytes that autograd holds saved for backward at any one time."""

    def __init__(self):
        self.live = self.peak = 0

    def pack(self, t):
        size = t.numel() * t.element_size()
        self.live += size
        self.peak = max(self.peak, self.live)
        return _Held(t, self, size)

    @staticmethod
    def unpack(held):
        return held.t


class _Held:
    def __init__(self, t, meter, size):
        self.t, self.meter, self.size = t, meter, size

    def __del__(self):
        self.meter.live -= self.size


def peak_saved(steps, online):
    torch.manual_seed(2)
    x, y = torch.rand(steps, B, 1, 3, 3) * 2, torch.randint(0, 3, (B,))
    net, meter = mlp(), PeakSaved()
    with torch.autograd.graph.saved_tensors_hooks(meter.pack, meter.unpack):
        if online:
            online_step(net, x, rate_ce(y))
        else:
            rate_ce(y)(net(x)).backward()
    assert meter.live == 0  # everything saved was freed: the measure sees the whole graph
    return meter.peak


def test_memory_held_for_backward_does_not_grow_with_t():
    assert peak_saved(10, online=True) == peak_saved(80, online=True) > 0
    assert peak_saved(80, online=False) > 4 * peak_saved(10, online=False)  # plain BPTT grows


def test_one_layer_gradient_is_the_papers_trace_rule():
    """W of Linear -> LIF: grad = sum_t dL[t]/du[t] (x) a[t] / T, a[t] = beta a[t-1] + x[t];
    the bias (a weight on a constant input of one) gets sum_t dL[t]/du[t] c[t] / T,
    c[t] = beta c[t-1] + 1."""
    steps, beta = 9, 0.8
    net = mlp(hidden=(), beta=beta)
    torch.manual_seed(4)
    x, y = torch.rand(steps, B, 1, 3, 3) * 1.5, torch.randint(0, 3, (B,))
    online_step(net, x, rate_ce(y))
    linear = net.body.layers[1].layer
    params = net.head.params()
    flat = x.reshape(steps, B, -1)
    grad_w, grad_b = torch.zeros_like(linear.weight), torch.zeros_like(linear.bias)
    trace, bias_trace = torch.zeros(B, flat.shape[-1]), 0.0
    state = LIFState(torch.zeros(B, 3), torch.zeros(B, 3))
    with torch.no_grad():
        currents = flat @ linear.weight.T + linear.bias
    for t in range(steps):
        trace, bias_trace = beta * trace + flat[t], beta * bias_trace + 1
        current = currents[t].clone().requires_grad_()  # du[t]/dI[t] = 1
        s, next_state, _ = lif_step(current, state, params)
        held = s[None].expand(steps, -1, -1)  # the step's output held for all T steps
        loss_t = losses.rate_ce(held, held, y) / steps  # cross-entropy on the logits T * s[t]
        (du,) = torch.autograd.grad(loss_t, current)
        grad_w += du.T @ trace
        grad_b += du.sum(0) * bias_trace
        state = LIFState(*(v.detach() for v in next_state))
    assert grad_w.abs().sum() > 0
    torch.testing.assert_close(linear.weight.grad, grad_w)
    torch.testing.assert_close(linear.bias.grad, grad_b)


def test_each_step_is_scored_as_a_whole_output_holding_that_step():
    steps, seen = 6, []
    net = mlp()
    x, y = torch.rand(steps, B, 1, 3, 3) * 2, torch.randint(0, 3, (B,))

    def objective(out):
        seen.append(out.spikes.detach().clone())
        return losses.rate_ce(out.spikes, out.v, y)

    loss, out = online_step(net, x, objective)
    *per_step, whole = seen
    assert len(per_step) == steps
    for t, held in enumerate(per_step):
        assert held.shape == (steps, B, 3)
        torch.testing.assert_close(held, out.spikes[t].expand(steps, -1, -1))
    torch.testing.assert_close(whole, out.spikes)
    torch.testing.assert_close(loss, losses.rate_ce(out.spikes, out.v, y))


def test_refuses_what_it_cannot_trace():
    x, y = torch.rand(4, B, 1, 3, 3), torch.randint(0, 3, (B,))
    rsnn = models.build("rsnn", (1, 3, 3), 3, hidden=(4,))
    with pytest.raises(UserError, match="does not support Recurrent"):
        online_step(rsnn, x, rate_ce(y))
    synaptic = models.build("mlp", (1, 3, 3), 3, hidden=(4,), neuron="synaptic")
    with pytest.raises(UserError, match="cannot trace the input of Synaptic"):
        trace_decays(synaptic)
    cnn = models.build("cnn", (1, 4, 4), 3, channels=(2,), hidden=())
    with pytest.raises(UserError, match="online cannot be used with BatchNorm2d"):
        online_step(cnn, torch.rand(4, B, 1, 4, 4), rate_ce(y))


def test_cnn_with_frozen_batch_norm_runs_and_gets_conv_gradients():
    cnn = models.build("cnn", (1, 4, 4), 3, channels=(2,), hidden=(4,))
    for m in cnn.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.eval()
    loss, out = online_step(cnn, torch.rand(6, B, 1, 4, 4) * 3, rate_ce(torch.zeros(B).long()))
    assert out.spikes.shape == (6, B, 3) and torch.isfinite(loss)
    assert cnn.body.layers[0].layer.weight.grad.abs().sum() > 0


@pytest.mark.slow
def test_online_training_learns_digits(tmp_path):
    cfg = TrainConfig(
        limit_train=400, limit_test=150, hidden=(64,), num_steps=8, epochs=4, batch_size=32,
        lr=5e-3, threads=1, device="cpu", online=True,
    )  # fmt: skip
    bundle = data.load(cfg.dataset, seed=0, limit_train=cfg.limit_train, limit_test=150)
    trainer = Trainer(cfg, bundle, tmp_path, progress=False)
    assert trainer.fit() == "finished"
    assert trainer.evaluate(bundle.test).accuracy > 0.6


@pytest.mark.parametrize(
    ("layer", "out_shape", "bias_shape"),
    [
        (torch.nn.Linear(4, 3), (1, B, 3), (3,)),
        (torch.nn.Conv1d(2, 3, 1), (1, B, 3, 5), (3, 1)),
        (torch.nn.Conv2d(2, 3, 1), (1, B, 3, 5, 4), (3, 1, 1)),
    ],
)
def test_bias_trace_adds_the_bias_times_the_trace_less_one(layer, out_shape, bias_shape):
    wrapped = TimeDistributed(layer)
    extra = bias_excess(wrapped, torch.zeros(out_shape), 1.0 + 0.8)
    assert extra.shape == bias_shape
    want = (0.8 * layer.bias).reshape(bias_shape).expand(out_shape[2:])
    torch.testing.assert_close((torch.zeros(out_shape) + extra)[0, 0], want)
    assert bias_excess(wrapped, torch.zeros(out_shape), 1.0) == 0.0  # the first step: c[0] = 1
    no_bias = TimeDistributed(torch.nn.Linear(4, 3, bias=False))
    assert bias_excess(no_bias, torch.zeros(1, B, 3), 1.8) == 0.0
