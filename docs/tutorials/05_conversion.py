# %% [markdown]
# # 5. ANN-to-SNN conversion
#
# Instead of training a spiking network directly, train an ordinary ReLU network and convert
# it. An integrate-and-fire neuron with reset by subtraction, driven by a constant input `x`,
# fires at a rate that approaches `clamp(x / threshold, 0, 1)` spikes per step: a clipped ReLU.
# So each ReLU becomes an IF neuron, the weights are kept, and the outputs averaged over `T`
# steps approach the ANN's. Two things decide how fast:
#
# - **weight normalisation**: each layer's activations are rescaled so that the threshold sits
#   at (a robust estimate of) the largest activation: the layer's maximum (`"max"`) or a high
#   percentile (`"percentile"`, 99.9 by default), which ignores rare outliers and so fires
#   faster;
# - **QCFS training** (clip-floor-shift, Bu et al. 2022): train the ANN with an activation that
#   is already quantised to `L` levels, so that the SNN needs only about `L` steps.
#
# `sf.convert.convert(ann, calibration_data, normalization=...)` does the conversion; this page
# measures the SNN's test accuracy against the number of steps `T`.

# %%
import os

import matplotlib.pyplot as plt
import torch
from torch import nn

import spikeflow as sf

QUICK = os.environ.get("SPIKEFLOW_DOCS_QUICK") == "1"  # small settings for the test suite
EPOCHS = 4 if QUICK else 150  # epochs of the ANN
STEPS = [1, 2, 4, 8, 16, 32] + ([] if QUICK else [64, 128, 256])

bundle = sf.data.load("digits", seed=0)


def tensors(dataset):
    xs, ys = zip(*(dataset[i] for i in range(len(dataset))), strict=True)
    return torch.stack(xs).flatten(1), torch.tensor(ys)


x_train, y_train = tensors(bundle.train)
x_test, y_test = tensors(bundle.test)


def train_ann(activation) -> nn.Sequential:
    torch.manual_seed(0)
    ann = nn.Sequential(
        nn.Linear(64, 256), activation(), nn.Linear(256, 256), activation(), nn.Linear(256, 10)
    )
    opt = torch.optim.Adam(ann.parameters(), lr=3e-3)
    for _ in range(EPOCHS):
        for idx in torch.randperm(len(x_train)).split(128):
            loss = nn.functional.cross_entropy(ann(x_train[idx]), y_train[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return ann.eval()


def accuracy(ann: nn.Module) -> float:
    with torch.no_grad():
        return (ann(x_test).argmax(1) == y_test).float().mean().item()


def snn_accuracy(snn) -> dict[int, float]:
    return sf.convert.accuracy_vs_num_steps(snn, [(x_test, y_test)], STEPS)


relu_ann = train_ann(nn.ReLU)
print(f"ReLU ANN test accuracy: {accuracy(relu_ann):.2%}")

# %% [markdown]
# ## Convert with each normalisation
#
# The calibration data is a few hundred training images: the converter runs the ANN on them
# to find each layer's activation scale. The input is *direct*: the image as a constant
# current at every step.

# %%
snn = sf.convert.convert(relu_ann, x_train[:512], normalization="percentile")
print(snn)
curves = {}
for norm in sf.convert.NORMALIZATIONS:
    converted = sf.convert.convert(relu_ann, x_train[:512], normalization=norm)
    curves[norm] = snn_accuracy(converted)
    print(f"{norm:10s} " + "  ".join(f"T={t}: {a:.1%}" for t, a in curves[norm].items()))

fig = sf.plot.accuracy_vs_steps(
    curves["percentile"],
    accuracy(relu_ann),
    title="Converted digits MLP (percentile normalisation)",
)
sf.plot.save(fig, "conversion_percentile.png")

# %% [markdown]
# ## QCFS: a few steps are enough
#
# Training the ANN with `sf.convert.QCFS(levels=8)` in place of ReLU quantises every
# activation to 8 levels of a learnt clip. The converted SNN (membranes starting at half the
# threshold, `v_init=0.5`, the default) then reaches the ANN's accuracy in about 8 steps.
# No calibration data is needed: the clip *is* the scale.

# %%
qcfs_ann = train_ann(lambda: sf.convert.QCFS(levels=8))
print(f"QCFS ANN test accuracy: {accuracy(qcfs_ann):.2%}")
curves["QCFS (L = 8)"] = snn_accuracy(sf.convert.convert(qcfs_ann, None))
print("QCFS       " + "  ".join(f"T={t}: {a:.1%}" for t, a in curves["QCFS (L = 8)"].items()))

fig, ax = plt.subplots(figsize=(7, 4.2), layout="constrained")
for (name, curve), marker in zip(curves.items(), "os^", strict=True):
    ax.plot(list(curve), [100 * a for a in curve.values()], marker + "-", label=f"SNN, {name}")
ax.axhline(100 * accuracy(relu_ann), color="black", ls="--", lw=1, label="ReLU ANN")
ax.axhline(100 * accuracy(qcfs_ann), color="grey", ls=":", lw=1.2, label="QCFS ANN")
ax.set_xscale("log", base=2)
ax.set_xticks(STEPS, [str(t) for t in STEPS])
ax.set_xlabel("time steps $T$")
ax.set_ylabel("test accuracy (%)")
ax.set_ylim(0, 100)
ax.set_title("ANN-to-SNN conversion on the digits: accuracy against T", loc="left")
ax.legend(loc="lower right")
ax.grid(alpha=0.3)
sf.plot.save(fig, "conversion_vs_steps.png")

targets = {"max": relu_ann, "percentile": relu_ann, "QCFS (L = 8)": qcfs_ann}
for name, curve in curves.items():
    goal = accuracy(targets[name]) - 0.01
    reached = next((f"T = {t}" for t, a in curve.items() if a >= goal), "no T tried")
    print(f"{name:13s} first within 1 point of its ANN at {reached}")

# %% [markdown]
# The SNN's outputs are averages over `T` steps, so few steps mean coarse rates. The
# percentile sets each threshold below the rare largest activations, so neurons fire sooner
# and the first steps already carry the answer; the layer maximum is safer against saturation
# but slower to start. On these small digits both reach the ANN within a few steps; deeper
# networks on harder data need more (the Fashion-MNIST CNN of the [results](../results.md) is
# measured at T = 64, where it matches its ANN). A QCFS network is trained for its quantisation, which is what lets its
# SNN match the ANN after about `L` steps.
#
# The whole experiment, with the ANN's training, the energy at every `T` and the plot, is one
# command: `spikeflow convert --dataset digits --model mlp --num-steps 4,8,16,32` (add
# `--activation qcfs --levels 8` for QCFS). Next: [STDP](06_stdp.md).
