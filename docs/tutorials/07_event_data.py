# %% [markdown]
# # 7. Event-based data
#
# An event camera (DVS) has no frames: each pixel reports, asynchronously and with
# microsecond timing, when its log brightness has changed by a contrast threshold, as an
# *event* `(x, y, t, p)` with polarity `p` (ON for brighter, OFF for darker). A silicon cochlea
# does the same for sound, one channel per frequency band. Such streams are sparse and precise
# in time, a natural input for spiking networks. The common benchmarks (N-MNIST, DVS128
# Gesture, CIFAR10-DVS, SHD, SSC) are recordings of this kind.
#
# This page works with event streams in spikeflow's layout (the one tonic uses: a numpy
# structured array with fields `x, y, t, p`, `t` in microseconds), turns them into frames for a
# network, writes a small dataset in the N-MNIST file format and reads it back with the
# dataset reader, and says where the real datasets come from.

# %%
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch

import spikeflow as sf
from spikeflow.data import events as ev
from spikeflow.data.event_digits import SENSOR_SIZE, simulate_saccades

QUICK = os.environ.get("SPIKEFLOW_DOCS_QUICK") == "1"  # small settings for the test suite

# %% [markdown]
# ## An event stream
#
# The built-in `event_digits` dataset simulates what N-MNIST recorded: a static digit in front
# of a sensor that makes three quick saccades (a triangle, 100 ms each), each pixel emitting
# ON/OFF events when its brightness changes. `simulate_saccades` makes the streams.

# %%
bundle = sf.data.load("digits", seed=0)
# three test digits of each class (the miniature dataset below needs every class)
test_labels = [int(bundle.test[i][1]) for i in range(len(bundle.test))]
picks = [[i for i, label in enumerate(test_labels) if label == d][:3] for d in range(10)]
order = [p[k] for k in range(3) for p in picks]
images = torch.stack([bundle.test[i][0][0] for i in order]).numpy()  # [30, 8, 8]
labels = [test_labels[i] for i in order]
streams = simulate_saccades(images, seed=0)
stream = streams[0]
print(
    f"digit {labels[0]}: {len(stream)} events on a {SENSOR_SIZE[0]}x{SENSOR_SIZE[1]} sensor, "
    f"{stream['t'][-1] / 1e3:.0f} ms"
)
print("fields:", stream.dtype.names, "first events:", stream[:3].tolist())

fig = plt.figure(figsize=(9, 4.2), layout="constrained")
ax3 = fig.add_subplot(1, 2, 1, projection="3d")
for p, colour, name in ((1, "#2a9d4b", "ON"), (0, "#c23b22", "OFF")):
    sel = stream[stream["p"] == p]
    ax3.scatter(sel["t"] / 1e3, sel["x"], -sel["y"].astype(int), s=1, c=colour, label=name)
ax3.set_xlabel("time (ms)")
ax3.set_ylabel("x (pixel)")
ax3.set_zlabel("y (pixel)")
ax3.legend(loc="upper left", markerscale=6)
ax3.set_title("events in space and time", loc="left")
ax_c = fig.add_subplot(1, 2, 2)
counts = np.histogram(stream["t"] / 1e3, bins=60, range=(0, 300))[0]
ax_c.bar(np.arange(60) * 5 + 2.5, counts / 5, width=5, color="#1f5fa8")
for edge in (100, 200):
    ax_c.axvline(edge, color="grey", ls="--", lw=0.8)
ax_c.set_xlabel("time (ms)")
ax_c.set_ylabel("events per ms")
ax_c.set_title("event rate: one burst per saccade", loc="left")
fig.suptitle(f"A digit {labels[0]} seen by a simulated event camera", fontweight="bold")
sf.plot.save(fig, "event_stream.png")

# %% [markdown]
# ## From events to frames
#
# A network running on a clock needs tensors. `to_frames` counts the events per pixel and
# polarity in consecutive slices: by time window (`time_window` in µs), by number of events
# (`event_count`) or into a fixed number of bins (`n_time_bins`), giving `[T, P, H, W]`.
# Filters clean and thin a stream first: `denoise` drops events with no neighbour active
# within `filter_time` µs, `refractory_filter` drops events that follow one at the same pixel
# too soon, `downsample` shrinks the sensor.

# %%
frames = ev.to_frames(stream, SENSOR_SIZE, n_time_bins=6)
print(f"frames {frames.shape} (T, P, H, W); {int(frames.sum())} events counted")
clean = ev.denoise(stream, SENSOR_SIZE, filter_time=10_000)
sparse = ev.refractory_filter(stream, SENSOR_SIZE, period=5_000)
print(
    f"denoise (10 ms): {len(clean)} of {len(stream)} events kept; "
    f"refractory 5 ms: {len(sparse)} kept"
)

fig, axes = plt.subplots(2, 6, figsize=(10, 3.8), layout="constrained")
for k in range(6):
    for row, (p, cmap, name) in enumerate(((1, "Greens", "ON"), (0, "Reds", "OFF"))):
        ax = axes[row, k]
        ax.imshow(frames[k, p], cmap=cmap, vmin=0, vmax=max(1.0, frames[:, p].max()))
        ax.set_xticks([])
        ax.set_yticks([])
        if row == 0:
            ax.set_title(f"{k * 50}-{(k + 1) * 50} ms", fontsize=9)
        if k == 0:
            ax.set_ylabel(name)
fig.suptitle("The stream in 6 frames of 50 ms (event counts per pixel)", fontweight="bold")
sf.plot.save(fig, "event_frames.png")

# %% [markdown]
# The whole dataset is `sf.data.load("event_digits")`: every digit as `[10, 2, 20, 20]` frames,
# batched time-major `[T, B, 2, 20, 20]` for a convolutional SNN
# (`spikeflow train --dataset event_digits --model cnn`).

# %% [markdown]
# ## The dataset readers, on a file we write ourselves
#
# The real recordings are not on the machine that built this page, so we write a miniature
# dataset in the N-MNIST format, byte for byte as distributed (two digits of each class for
# training, one for testing), and read it with the same reader that reads the real one. N-MNIST has one `.bin` file per sample in `Train/<digit>/` and
# `Test/<digit>/`; each event is 5 bytes: x, y, then one bit of polarity and 23 bits of
# timestamp (µs).


# %%
def write_nmnist_bin(path: Path, events: np.ndarray) -> None:
    """One N-MNIST sample file: 5 bytes per event (x, y, polarity bit 23 + 23-bit time)."""
    t = events["t"].astype(np.int64)
    raw = np.empty((len(events), 5), np.uint8)
    raw[:, 0], raw[:, 1] = events["x"], events["y"]
    raw[:, 2] = (events["p"].astype(np.int64) << 7) | ((t >> 16) & 0x7F)
    raw[:, 3], raw[:, 4] = (t >> 8) & 0xFF, t & 0xFF
    path.parent.mkdir(parents=True, exist_ok=True)
    raw.tofile(path)


root = Path("nmnist_mini")
for split, samples in (("Train", range(0, 20)), ("Test", range(20, 30))):
    for k in samples:
        write_nmnist_bin(root / split / str(labels[k]) / f"{k:05d}.bin", streams[k])
print(f"{sum(1 for _ in root.rglob('*.bin'))} files written under {root}/")

nmnist = sf.data.load("nmnist", data_dir=str(root), transform="n_time_bins=10")
x, y = nmnist.train[0]
print(
    f"train {len(nmnist.train)}, test {len(nmnist.test)} samples; one sample {tuple(x.shape)} "
    f"(T, P, H, W on the 34x34 N-MNIST sensor), label {y}"
)
print(f"same events as written: {int(x.sum())} counted, {len(streams[0])} in the stream")
loader = torch.utils.data.DataLoader(nmnist.train, batch_size=4, collate_fn=nmnist.collate)
batch_x, batch_y = next(iter(loader))
print(f"a batch: {tuple(batch_x.shape)} (time-major [T, B, P, H, W]), labels {batch_y.tolist()}")
print("cache:", sorted(p.name for p in (root / ".spikeflow-cache").iterdir())[:2])

# %% [markdown]
# The first load parses the files and keeps the transformed tensors in
# `<data-dir>/.spikeflow-cache` (keyed by the transform and the files), so later loads are
# fast. The other readers work the same way.
#
# ## The real datasets
#
# | dataset | what | files | `--download` |
# | --- | --- | --- | --- |
# | `shd`, `ssc` | Spiking Heidelberg Digits / Speech Commands (Cramer et al. 2020): spoken words through a cochlea model, 700 channels | HDF5 as distributed | yes (checksummed) |
# | `nmnist` | N-MNIST (Orchard et al. 2015): MNIST on an ATIS sensor, 34x34 | `Train/`, `Test/` folders of `.bin` | yes |
# | `dvs_gesture` | DVS128 Gesture (Amir et al. 2017): 11 hand gestures, 128x128 | AEDAT 3.1 with `*_labels.csv` and trial lists | yes (IBM's `DvsGesture.tar.gz`, MD5 checked) |
# | `cifar10_dvs` | CIFAR10-DVS (Li et al. 2017): CIFAR-10 images moved on a monitor, 128x128 | AEDAT 2.0 (jAER), one zip per class | yes (the ten figshare class zips, MD5 checked) |
#
# `spikeflow train --dataset nmnist --data-dir ~/data/nmnist --download --model cnn` fetches,
# checks, unpacks, caches and trains; without internet the error names the files, where
# to get them and the expected layout. `sf.data.from_tonic(dataset)` wraps a tonic dataset
# instead. The training recipes for all five are in the [user guide](../guide/data.md).
# Next: [energy](08_energy.md).
