"""Neurons against closed-form results and published firing patterns."""

import math

import pytest
import torch

import spikeflow as sf


@pytest.fixture(autouse=True)
def _float64_parameters():
    """Build modules with float64 buffers so that closed forms hold to float64 precision."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def lif_rate_continuous(drive, threshold, tau, t_ref):
    """Firing rate of tau dv/dt = -v + drive, reset to 0, absolute refractory t_ref."""
    if drive <= threshold:
        return 0.0
    return 1.0 / (t_ref + tau * math.log(drive / (drive - threshold)))


def test_lif_reproduces_analytic_rate_within_two_percent():
    tau, dt, t_ref, threshold, duration = 20e-3, 1e-4, 2e-3, 1.0, 1.0
    drives = torch.tensor([1.1, 1.5, 2.0, 3.0, 5.0], dtype=torch.float64)
    lif = sf.nn.LIF(tau=tau, dt=dt, reset="zero", refractory=round(t_ref / dt)).double()
    steps = round(duration / dt)
    # exact integration of a constant current over one step adds (1 - beta) * drive
    x = ((1 - lif.beta) * drives).expand(steps, 1, -1)
    spikes, _ = lif(x)
    for i, drive in enumerate(drives.tolist()):
        t = spikes[:, 0, i].nonzero().flatten().double() * dt
        measured = 1.0 / t.diff().mean().item()  # steady-state rate from inter-spike intervals
        expected = lif_rate_continuous(drive, threshold, tau, t_ref)
        assert measured == pytest.approx(expected, rel=0.02), (drive, measured, expected)


def test_lif_below_rheobase_never_fires_and_settles_at_drive():
    tau, dt = 10e-3, 1e-4
    lif = sf.nn.LIF(tau=tau, dt=dt).double()
    x = ((1 - lif.beta) * 0.9).expand(2000, 1, 1)
    tr = lif.trace(x)
    assert tr.spikes.sum() == 0
    # v(t) = drive (1 - exp(-t / tau)), exactly at every step
    t = torch.arange(1, 2001, dtype=torch.float64) * dt
    torch.testing.assert_close(tr.v[:, 0, 0], 0.9 * (1 - torch.exp(-t / tau)))


def test_synaptic_impulse_response_is_difference_of_exponentials():
    a, b = 0.8, 0.9
    syn = sf.nn.Synaptic(alpha=a, beta=b, threshold=1e9).double()
    x = torch.zeros(50, 1, 1, dtype=torch.float64)
    x[0] = 1.0
    v = syn.trace(x).v[:, 0, 0]
    n = torch.arange(50, dtype=torch.float64)
    expected = (b ** (n + 1) - a ** (n + 1)) / (b - a)
    torch.testing.assert_close(v, expected)


def isis(preset, current=10.0, duration_ms=1000.0):
    m = sf.nn.Izhikevich(preset).double()
    steps = round(duration_ms / m.dt)
    spikes, _ = m(torch.full((steps, 1, 1), current, dtype=torch.float64))
    times = spikes[:, 0, 0].nonzero().flatten().double() * m.dt
    return times, times.diff()


def test_izhikevich_regular_spiking_adapts_then_fires_regularly():
    times, isi = isis("regular_spiking")
    assert 10 <= len(times) <= 40  # 10-40 Hz
    steady = isi[len(isi) // 2 :]
    assert isi[0] < 0.7 * steady.mean()  # spike-frequency adaptation
    assert steady.std() / steady.mean() < 0.05  # then tonic and regular
    assert (isi > 10).all()  # no bursts


def test_izhikevich_fast_spiking_is_fast_and_regular():
    fs_times, fs_isi = isis("fast_spiking")
    rs_times, _ = isis("regular_spiking")
    assert len(fs_times) > 3 * len(rs_times)
    steady = fs_isi[len(fs_isi) // 2 :]
    assert steady.std() / steady.mean() < 0.1
    assert steady.mean() < 12.0


def test_izhikevich_intrinsically_bursting_bursts_once_then_spikes_tonically():
    times, isi = isis("bursting")
    assert (isi[:2] < 8.0).all()  # an initial burst
    assert (isi[3:] > 25.0).all()  # then single spikes
    assert times[0] < 10.0


def test_izhikevich_chattering_fires_repeated_bursts():
    _, isi = isis("chattering")
    short, long = (isi < 10.0).sum().item(), (isi > 30.0).sum().item()
    assert short + long == len(isi)  # bimodal: within-burst and between-burst intervals only
    assert long >= 10  # many bursts
    assert short >= 2 * long  # of at least three spikes each
