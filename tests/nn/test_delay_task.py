"""A task that needs delays: which pair of input channels fired with a lag of ``LAG`` steps.

Four channels fire exactly once per sample. In class 0, channel 1 fires ``LAG`` steps after
channel 0 and channels 2, 3 fire with another lag; in class 1 the roles swap. Spike counts are the
same in both classes and every lag is far longer than the membrane's memory (``beta = 0.5``), so
a network can only tell the classes by bringing the two spikes of a pair together in time: with
learnable delays it does, without them it stays at chance.
"""

import pytest
import torch
from torch import nn

import spikeflow as sf

STEPS, LAG, CHANNELS = 30, 6, 4
OTHER_LAGS = [lag for lag in range(-8, 9) if abs(lag) > 2 and lag != LAG]


def lag_task(n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """``(spikes [STEPS, n, 4], labels [n])``."""
    y = torch.randint(0, 2, (n,), generator=generator)
    x = torch.zeros(STEPS, n, CHANNELS)

    def draw(high: int) -> int:
        return int(torch.randint(high, (1,), generator=generator))

    for k in range(n):
        for (a, b), lagged in (((0, 1), y[k] == 0), ((2, 3), y[k] == 1)):
            lag = LAG if lagged else OTHER_LAGS[draw(len(OTHER_LAGS))]
            t = max(0, -lag) + draw(STEPS - abs(lag))
            x[t, k, a] = x[t + lag, k, b] = 1.0
    return x, y


def network(delays: bool) -> sf.nn.Sequential:
    first = sf.nn.DelayedLinear(CHANNELS, 16, max_delay=10) if delays else nn.Linear(CHANNELS, 16)
    return sf.nn.Sequential(first, sf.nn.LIF(beta=0.5), nn.Linear(16, 2))


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    with torch.no_grad():
        return float((model(x)[0].sum(0).argmax(1) == y).float().mean())


def train(delays: bool, seed: int = 0, epochs: int = 30) -> tuple[nn.Module, float]:
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    (x, y), (x_test, y_test) = lag_task(512, g), lag_task(256, g)
    model = network(delays)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for epoch in range(epochs):
        sf.nn.sharpen_delays(model, epoch, epochs)
        order = torch.randperm(len(y))
        for i in range(0, len(y), 64):
            idx = order[i : i + 64]
            loss = nn.functional.cross_entropy(model(x[:, idx])[0].sum(0), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model, accuracy(model, x_test, y_test)


def test_the_task_has_equal_counts_and_the_lag_only_in_the_labelled_pair():
    x, y = lag_task(200, torch.Generator().manual_seed(1))
    assert torch.all(x.sum(0) == 1)  # every channel fires once: rates carry nothing
    t = x.argmax(0)  # [n, 4] firing steps
    assert torch.all((t[:, 1] - t[:, 0] == LAG) == (y == 0))
    assert torch.all((t[:, 3] - t[:, 2] == LAG) == (y == 1))
    assert 60 < int(y.sum()) < 140


@pytest.mark.slow
def test_solved_with_learnable_delays_and_not_without():
    model, with_delays = train(True)
    _, without = train(False)
    assert with_delays > 0.9, with_delays
    assert without < 0.7, without
    g = torch.Generator().manual_seed(7)
    x, y = lag_task(256, g)
    rounded = sf.nn.Sequential(model[0].rounded(), model[1], model[2])
    assert accuracy(rounded, x, y) > 0.9  # integer delays for inference keep the solution
