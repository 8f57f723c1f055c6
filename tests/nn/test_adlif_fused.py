"""The fused AdLIF kernel equals the reference scan: spikes and states exactly, gradients of the
input, the initial state and every parameter to float tolerance, over random settings."""

import pytest
import torch

import spikeflow as sf
from spikeflow.errors import UserError
from spikeflow.functional import AdLIFState
from spikeflow.kernels import adlif_cpu

SETTINGS = [  # (seed, dtype, reset, detach_reset, surrogate, per-neuron parameters)
    (0, torch.float32, "subtract", True, "atan", True),
    (1, torch.float32, "subtract", False, "fast_sigmoid", False),
    (2, torch.float32, "zero", True, "sigmoid", True),
    (3, torch.float64, "zero", False, "triangle", True),
    (4, torch.float64, "none", True, "atan", False),
    (5, torch.float32, "none", False, "erfc", True),
]


def pair(seed, dtype, reset, detach, surrogate, per_neuron, n):
    torch.manual_seed(seed)
    kwargs = {"reset": reset, "detach_reset": detach, "surrogate": surrogate, "v_reset": -0.2,
              "learn_threshold": True, "threshold": 0.7 + seed / 10}  # fmt: skip
    if per_neuron:
        kwargs["size"] = n
    fused = sf.nn.AdLIF(backend="cpu", **kwargs).to(dtype)
    ref = sf.nn.AdLIF(backend="reference", **kwargs).to(dtype)
    ref.load_state_dict(fused.state_dict())
    return fused, ref


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: f"seed{s[0]}")
def test_fused_equals_the_reference_scan(setting):
    seed, dtype = setting[:2]
    g = torch.Generator().manual_seed(seed)
    steps, batch, n = (int(v) for v in torch.randint(1, 40, (3,), generator=g))
    fused, ref = pair(*setting, n)
    x = (torch.randn(steps, batch, n, dtype=dtype, generator=g) * 8 + 2).requires_grad_(True)
    v0 = torch.randn(batch, n, dtype=dtype, generator=g, requires_grad=True)
    w0 = torch.randn(batch, n, dtype=dtype, generator=g, requires_grad=True)
    weight = torch.rand(n, dtype=dtype, generator=g)
    results = []
    for module in (fused, ref):
        state = AdLIFState(v0, w0, torch.zeros(batch, n, dtype=dtype))
        spikes, final = module(x, state)
        loss = (spikes * weight).sum() + (final.v**2).sum() + (final.w * weight).sum()
        wrt = [x, v0, w0, module.beta, module.rho, module.a, module.b, module.threshold]
        results.append((spikes, final, torch.autograd.grad(loss, wrt)))
    (s1, f1, g1), (s2, f2, g2) = results
    assert s2.sum() > 0
    assert torch.equal(s1, s2) and torch.equal(f1.v, f2.v) and torch.equal(f1.w, f2.w)
    tol = {"rtol": 1e-4, "atol": 1e-4} if dtype == torch.float32 else {"rtol": 1e-10, "atol": 1e-10}
    for name, a, b in zip(["x", "v0", "w0", "beta", "rho", "a", "b", "thr"], g1, g2, strict=True):
        torch.testing.assert_close(a, b, **tol, msg=lambda m, name=name: f"{name}: {m}")


def test_the_default_path_is_fused_and_the_same(monkeypatch):
    calls = []
    forward = adlif_cpu.forward
    monkeypatch.setattr(adlif_cpu, "forward", lambda *a: calls.append(1) or forward(*a))
    torch.manual_seed(0)
    auto = sf.nn.AdLIF(size=8)
    ref = sf.nn.AdLIF(size=8, backend="reference")
    ref.load_state_dict(auto.state_dict())
    x = torch.rand(20, 4, 8) * 20
    assert torch.equal(auto(x)[0], ref(x)[0]) and calls == [1]


def test_refractory_falls_back_under_auto_and_is_refused_under_cpu():
    x = torch.rand(5, 2, 3) * 20
    spikes, _ = sf.nn.AdLIF(refractory=2)(x)  # the reference scan
    assert spikes.shape == (5, 2, 3)
    with pytest.raises(UserError, match="refractory=2"):
        sf.nn.AdLIF(refractory=2, backend="cpu")(x)
    with pytest.raises(UserError, match="triton"):
        sf.nn.AdLIF(backend="triton")(x)


def test_non_finite_input_is_a_user_error():
    x = torch.rand(6, 2, 3)
    x[2, 1, 0] = float("nan")
    with pytest.raises(UserError, match="NaN or infinite"):
        sf.nn.AdLIF(backend="cpu")(x)


@pytest.mark.parametrize("threads", [1, 2])
def test_split_over_threads_gives_the_same_result(threads):
    import numba

    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))  # conftest restores it
    fused, ref = pair(6, torch.float32, "subtract", True, "atan", True, 128)
    x = (torch.randn(12, 8, 128) * 8 + 2).requires_grad_(True)  # 1024 neurons: several parts
    (s1, _), (s2, _) = fused(x), ref(x)
    assert torch.equal(s1, s2)
    g1, g2 = (torch.autograd.grad(s.sum(), [x, m.a]) for s, m in ((s1, fused), (s2, ref)))
    torch.testing.assert_close(g1, g2, rtol=1e-4, atol=1e-4)
