"""Surrogate-gradient training of a spiking MLP in plain PyTorch, with spikeflow's pieces.

python examples/train_digits.py          # about a minute on 2 cores; ~96-98 % test accuracy
"""

import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn

import spikeflow as sf

torch.manual_seed(0)
images, labels = load_digits(return_X_y=True)
x_train, x_test, y_train, y_test = train_test_split(
    torch.tensor(images / 16.0, dtype=torch.float32),
    torch.tensor(labels),
    test_size=0.2,
    stratify=labels,
    random_state=0,
)

T = 16
net = sf.nn.Sequential(
    nn.Linear(64, 256), sf.nn.LIF(beta=0.9), nn.Linear(256, 10), sf.nn.LIF(beta=0.9)
)
opt = torch.optim.Adam(net.parameters(), lr=2e-3)

for epoch in range(15):
    for idx in torch.randperm(len(x_train)).split(64):
        spikes, _ = net(sf.encode.rate(x_train[idx], num_steps=T))  # [T, B, 64] -> [T, B, 10]
        loss = sf.loss.rate_ce(spikes, None, y_train[idx])  # cross-entropy on spike counts
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        counts = net(sf.encode.rate(x_test, num_steps=T))[0].sum(0)
    print(
        f"epoch {epoch + 1:2d}  loss {loss.item():.3f}  test accuracy "
        f"{(counts.argmax(1) == y_test).float().mean().item():.1%}"
    )
