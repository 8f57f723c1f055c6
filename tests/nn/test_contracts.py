"""Contracts every neuron module keeps: functional == module, step loop == multi-step, no leaks,
dtypes, devices, state_dict, torch.compile."""

import io

import pytest
import torch

import spikeflow as sf
import spikeflow.functional as F

N = 6


def make(name):
    return {
        "lif": lambda: sf.nn.LIF(beta=0.8, refractory=1),
        "lif_zero": lambda: sf.nn.LIF(beta=0.8, reset="zero", v_reset=0.1),
        "lif_none": lambda: sf.nn.LIF(beta=0.8, reset="none"),
        "if": lambda: sf.nn.IF(threshold=1.5),
        "synaptic": lambda: sf.nn.Synaptic(alpha=0.7, beta=0.8, refractory=2),
        "alif": lambda: sf.nn.ALIF(beta=0.9, rho=0.8, beta_a=0.3),
        "izhikevich": lambda: sf.nn.Izhikevich("chattering"),
        "plif": lambda: sf.nn.PLIF(beta=0.7),
        "rlif": lambda: sf.nn.RLIF(N),
        "rlif_1to1": lambda: sf.nn.RLIF(N, "one_to_one", beta=0.8),
        "rsynaptic": lambda: sf.nn.RSynaptic(N, alpha=0.6, beta=0.9),
    }[name]()


NAMES = [
    "lif",
    "lif_zero",
    "lif_none",
    "if",
    "synaptic",
    "alif",
    "izhikevich",
    "plif",
    "rlif",
    "rlif_1to1",
    "rsynaptic",
]


def drive(name, t=30, b=4, dtype=torch.float32):
    scale = 12.0 if name == "izhikevich" else 1.2
    return torch.rand(t, b, N, dtype=dtype) * scale


def _izhikevich_loop(m, x):
    """Izhikevich (2003) written out: Euler step of v, then u, spike at v_peak, v <- c, u <- u + d."""
    a, b, c, d = m.a, m.b, m.v_reset, m.d
    v = torch.full_like(x[0], -65.0)
    u = b * v
    out = []
    for x_t in x:
        v = v + m.dt * (0.04 * v * v + 5.0 * v + 140.0 - u + x_t)
        u = u + m.dt * a * (b * v - u)
        s = (v >= m.threshold).to(x.dtype)
        v = torch.where(s > 0, c, v)
        u = u + d * s
        out.append(s)
    return torch.stack(out), (v, u)


def _recurrent_loop(m, x):
    """A recurrent LIF or Synaptic layer written out: x + s_prev W^T (or s_prev * w), subtract reset."""
    inner = m.neuron
    alpha = getattr(inner, "alpha", None)
    i = torch.zeros_like(x[0])
    v = torch.zeros_like(x[0])
    s = torch.zeros_like(x[0])
    out = []
    for x_t in x:
        x_eff = x_t + (s * m.weight if m.weight.dim() == 1 else s @ m.weight.T)
        if alpha is not None:
            i = alpha * i + x_eff
            v = inner.beta * v + i
        else:
            v = inner.beta * v + x_eff
        s = (v >= inner.threshold).to(x.dtype)
        v = v - s * inner.threshold
        out.append(s)
    refrac = torch.zeros_like(v)  # no refractory period: the counter stays at zero
    state = (i, v, refrac, s) if alpha is not None else (v, refrac, s)
    return torch.stack(out), state


#: the models without a fused kernel: their forward is the scan itself, so they are checked
#: against the equations written out here, independently of spikeflow.functional
INDEPENDENT = {
    "izhikevich": _izhikevich_loop,
    "rlif": _recurrent_loop,
    "rlif_1to1": _recurrent_loop,
    "rsynaptic": _recurrent_loop,
}


@pytest.mark.parametrize("name", NAMES)
def test_functional_scan_equals_module(name):
    m = make(name)
    x = drive(name)
    spikes, state = m(x)
    if name in INDEPENDENT:
        ref_s, ref_state = INDEPENDENT[name](m, x)
    else:
        ref_s, ref_state, _ = F.scan(type(m).step_fn, x, m.initial_state(x[0]), m.params())
        ref_state = tuple(sf.nn.neuron._tensors(ref_state))
    assert torch.equal(spikes, ref_s)
    for a, b in zip(sf.nn.neuron._tensors(state), ref_state, strict=True):
        torch.testing.assert_close(a, b.to(a.dtype))
    assert spikes.sum() > 0, "the drive should make the neurons fire"


@pytest.mark.parametrize("name", NAMES)
def test_step_loop_equals_multi_step(name):
    m = make(name)
    x = drive(name)
    spikes, final = m(x)
    state, out = None, []
    for t in range(x.shape[0]):
        s, state = m.step(x[t], state)
        out.append(s)
    assert torch.equal(torch.stack(out), spikes)
    for a, b in zip(sf.nn.neuron._tensors(state), sf.nn.neuron._tensors(final), strict=True):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("name", NAMES)
def test_chunked_run_equals_whole_run(name):
    m = make(name)
    x = drive(name)
    whole, _ = m(x)
    first, state = m(x[:11])
    second, _ = m(x[11:], state)
    assert torch.equal(torch.cat([first, second]), whole)


@pytest.mark.parametrize("name", NAMES)
def test_no_state_leaks_between_calls(name):
    m = make(name)
    x = drive(name)
    a, _ = m(x)
    m(drive(name) * 3)  # an unrelated batch in between
    b, _ = m(x)
    assert torch.equal(a, b)


@pytest.mark.parametrize("name", NAMES)
def test_trace_spikes_equal_forward(name):
    m = make(name)
    x = drive(name)
    tr = m.trace(x)
    assert torch.equal(tr.spikes, m(x)[0])
    assert tr.v.shape == x.shape


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16])
def test_dtypes(name, dtype):
    m = make(name).to(dtype)
    x = drive(name, dtype=dtype)
    spikes, state = m(x)
    assert spikes.dtype == dtype
    assert set(spikes.unique().tolist()) <= {0.0, 1.0}
    assert all(t.dtype == dtype for t in sf.nn.neuron._tensors(state))


@pytest.mark.parametrize("name", NAMES)
def test_state_dict_round_trip(name):
    m = make(name)
    x = drive(name)
    default_out = m(x)[0]
    with torch.no_grad():  # parameters and buffers alike: most models keep settings in buffers
        for t in m.state_dict().values():
            t.mul_(0.9).add_(0.03)
    assert not torch.equal(m(x)[0], default_out), "the perturbation should change the output"
    buf = io.BytesIO()
    torch.save(m.state_dict(), buf)
    buf.seek(0)
    other = make(name)
    other.load_state_dict(torch.load(buf, weights_only=True))
    for key, value in m.state_dict().items():
        assert torch.equal(other.state_dict()[key], value), key
    assert torch.equal(other(x)[0], m(x)[0])


def test_hyper_parameters_are_buffers_or_parameters():
    lif = sf.nn.LIF(beta=0.9, learn_threshold=True)
    assert "beta" in dict(lif.named_buffers())
    assert "threshold" in dict(lif.named_parameters())
    lif = sf.nn.LIF(beta=0.9, learn_beta=True).to(torch.float64)
    assert lif.beta.dtype == torch.float64 and isinstance(lif.beta, torch.nn.Parameter)


def test_tau_dt_gives_exact_exponential_decay():
    import math

    lif = sf.nn.LIF(tau=20e-3, dt=1e-3)
    assert lif.beta.item() == pytest.approx(math.exp(-1 / 20), rel=1e-7)
    syn = sf.nn.Synaptic(tau_syn=5e-3, tau_mem=10e-3, dt=1e-3)
    assert syn.alpha.item() == pytest.approx(math.exp(-0.2), rel=1e-7)
    assert syn.beta.item() == pytest.approx(math.exp(-0.1), rel=1e-7)


def test_per_neuron_beta_and_threshold():
    beta = torch.tensor([0.0, 0.5, 1.0])
    lif = sf.nn.LIF(beta=beta, threshold=torch.tensor([1.0, 2.0, 3.0]), reset="none")
    tr = lif.trace(torch.ones(3, 1, 3))
    assert tr.v[:, 0].tolist() == [[1, 1, 1], [1, 1.5, 2], [1, 1.75, 3]]
    assert tr.spikes[-1, 0].tolist() == [1, 0, 1]


def test_learnable_beta_threshold_recurrent_weight_get_gradients():
    lif = sf.nn.LIF(beta=0.8, learn_beta=True, learn_threshold=True)
    x = torch.rand(10, 3, 4, requires_grad=True)
    lif(x * 2)[0].sum().backward()
    assert lif.beta.grad is not None and lif.beta.grad.abs() > 0
    assert lif.threshold.grad is not None and lif.threshold.grad.abs() > 0
    rlif = sf.nn.RLIF(4)
    rlif(x * 2)[0].sum().backward()
    assert rlif.weight.grad.abs().sum() > 0
    plif = sf.nn.PLIF(tau=2.0, dt=1.0)
    plif(x * 2)[0].sum().backward()
    assert plif.w.grad.abs() > 0


@pytest.mark.parametrize("name", ["lif", "synaptic", "rlif"])
def test_torch_compile_matches_eager(name):
    m = make(name)
    x = drive(name, t=4, b=2)
    compiled = torch.compile(m, backend="aot_eager", fullgraph=True)
    s_c, _ = compiled(x)
    assert torch.equal(s_c, m(x)[0])


@pytest.mark.slow
def test_torch_compile_inductor_forward_and_backward():
    m = make("lif")
    x = drive("lif", t=4, b=2).requires_grad_(True)
    compiled = torch.compile(m)
    s_c, _ = compiled(x)
    assert torch.equal(s_c, m(x)[0])
    s_c.sum().backward()
    g_c = x.grad.clone()
    x.grad = None
    m(x)[0].sum().backward()
    torch.testing.assert_close(g_c, x.grad)
