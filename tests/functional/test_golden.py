"""Golden membrane trajectories: exact values worked out by hand from the DESIGN.md equations."""

import pytest
import torch

import spikeflow as sf

F64 = torch.float64


@pytest.fixture(autouse=True)
def _float64_parameters():
    """Build modules with float64 buffers so that golden values hold to 1e-12."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(F64)
    yield
    torch.set_default_dtype(old)


def run(module, xs):
    x = torch.tensor(xs, dtype=F64)[:, None]  # [T, 1]
    tr = module.to(F64).trace(x)
    return tr.spikes[:, 0].tolist(), tr.v[:, 0].tolist()


LIF_X = [0.6, 0.6, 0.6, 0.0, 1.5]


@pytest.mark.parametrize(
    ("kwargs", "spikes", "v"),
    [
        ({"reset": "subtract"}, [0, 0, 1, 0, 1], [0.6, 0.9, 1.05, 0.025, 1.5125]),
        ({"reset": "zero"}, [0, 0, 1, 0, 1], [0.6, 0.9, 1.05, 0.0, 1.5]),
        ({"reset": "zero", "v_reset": -0.2}, [0, 0, 1, 0, 1], [0.6, 0.9, 1.05, -0.1, 1.45]),
        ({"reset": "none"}, [0, 0, 1, 0, 1], [0.6, 0.9, 1.05, 0.525, 1.7625]),
    ],
)
def test_lif_reset_modes(kwargs, spikes, v):
    s, vv = run(sf.nn.LIF(beta=0.5, threshold=1.0, **kwargs), LIF_X)
    assert s == spikes
    assert vv == pytest.approx(v, abs=1e-12)


def test_lif_refractory_one_step():
    s, v = run(sf.nn.LIF(beta=0.5, refractory=1), [1.2] * 4)
    assert s == [1, 0, 1, 0]
    assert v == pytest.approx([1.2, 0.2, 1.3, 0.3], abs=1e-12)


def test_lif_refractory_two_steps_ignores_input_and_holds_v():
    s, v = run(sf.nn.LIF(beta=0.5, refractory=2), [1.2, 5.0, 5.0, 1.2, 1.2])
    assert s == [1, 0, 0, 1, 0]
    assert v == pytest.approx([1.2, 0.2, 0.2, 1.3, 0.3], abs=1e-12)


def test_lif_refractory_with_zero_reset():
    s, v = run(sf.nn.LIF(beta=0.5, reset="zero", refractory=1), [1.2] * 4)
    assert s == [1, 0, 1, 0]
    assert v == pytest.approx([1.2, 0.0, 1.2, 0.0], abs=1e-12)


def test_if_subtract():
    s, v = run(sf.nn.IF(threshold=1.0), [0.45] * 6)
    assert s == [0, 0, 1, 0, 1, 0]
    assert v == pytest.approx([0.45, 0.9, 1.35, 0.8, 1.25, 0.7], abs=1e-12)


def test_synaptic_two_states():
    s, v = run(sf.nn.Synaptic(alpha=0.5, beta=0.5), [1.0, 0.0, 0.0, 0.0])
    assert s == [1, 0, 0, 0]
    assert v == pytest.approx([1.0, 0.5, 0.5, 0.375], abs=1e-12)


def test_synaptic_refractory_current_keeps_decaying():
    m = sf.nn.Synaptic(alpha=0.5, beta=1.0, threshold=2.0, refractory=1)
    x = torch.tensor([[2.0], [0.0], [0.0]], dtype=F64)
    spikes, state = m(x)
    # i: 2 -> 1 -> 0.5 ; v: 2 (spike, -> 0), held at 0 while refractory (i=1 ignored), then 0 + 0.5
    assert spikes[:, 0].tolist() == [1, 0, 0]
    assert state.i.item() == pytest.approx(0.5, abs=1e-12)
    assert state.v.item() == pytest.approx(0.5, abs=1e-12)


def test_alif_adaptive_threshold():
    s, v = run(sf.nn.ALIF(beta=1.0, rho=0.5, beta_a=0.5), [1.0] * 4)
    assert s == [1, 0, 1, 1]
    assert v == pytest.approx([1.0, 1.0, 2.0, 1.75], abs=1e-12)


def test_alif_state_b_follows_rho_and_beta_a():
    m = sf.nn.ALIF(beta=1.0, rho=0.5, beta_a=0.5).to(F64)
    _, state = m(torch.ones(4, 1, dtype=F64))
    assert state.b.item() == pytest.approx(0.8125)
    assert state.v.item() == pytest.approx(0.125)


def izhikevich_reference(a, b, c, d, currents, dt, substeps):
    """Independent scalar transcription of Izhikevich (2003)."""
    v, u = -65.0, b * -65.0
    out = []
    for current in currents:
        for _ in range(substeps):
            v += dt / substeps * (0.04 * v * v + 5 * v + 140 - u + current)
        u += dt * a * (b * v - u)
        if v >= 30.0:
            out.append((1, 30.0))
            v, u = c, u + d
        else:
            out.append((0, v))
    return out


@pytest.mark.parametrize("preset", ["regular_spiking", "fast_spiking", "bursting", "chattering"])
@pytest.mark.parametrize(("dt", "substeps"), [(0.25, 1), (1.0, 2)])
def test_izhikevich_matches_scalar_transcription(preset, dt, substeps):
    currents = [0.0] * 10 + [10.0] * 390
    m = sf.nn.Izhikevich(preset, dt=dt, substeps=substeps)
    ref = izhikevich_reference(
        m.a.item(), m.b.item(), m.v_reset.item(), m.d.item(), currents, dt, substeps
    )
    s, v = run(m, currents)
    assert s == [r[0] for r in ref]
    assert v == pytest.approx([r[1] for r in ref], rel=1e-9, abs=1e-9)
    assert sum(s) > 0
