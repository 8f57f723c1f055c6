"""``event_digits``: scikit-learn's digits seen by a simulated event camera making three saccades.

N-MNIST (Orchard et al. 2015) was recorded by moving an ATIS sensor in three saccades (a triangle,
100 ms each) in front of static MNIST digits. Here the same is simulated: each 8x8 digit is
upsampled to 16x16 and placed on a 20x20 sensor; the image moves along the triangle
``(-1, 1) -> (0, -1) -> (1, 1) -> (-1, 1)`` pixels (bilinear sub-pixel shifts) in 300 ms; every pixel
emits an ON (OFF) event each time its log intensity rises (falls) by its contrast threshold since its
last event (threshold 0.15 with 5% per-pixel mismatch, as a DVS pixel does), with timestamps spread
inside each 5 ms simulation step, plus 0.2 Hz background noise per pixel and polarity.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from spikeflow.data.bundle import DataBundle, stratified_indices
from spikeflow.data.digits import SPLIT_SEED, TEST_FRACTION
from spikeflow.data.events import EVENT_DTYPE, collate_time_major, to_frames
from spikeflow.data.temporal import SequenceDataset
from spikeflow.errors import check_positive_int

SENSOR_SIZE = (20, 20, 2)  # (W, H, P)
DURATION_US = 300_000
STEP_US = 5_000
CONTRAST = 0.15
NOISE_HZ = 0.2
TRIANGLE = ((-1.0, 1.0), (0.0, -1.0), (1.0, 1.0), (-1.0, 1.0))  # (dx, dy) saccade vertices


def _path(steps: int) -> np.ndarray:
    """Sensor offset ``[steps, 2]`` (dx, dy) in pixels along the three saccades."""
    u = np.linspace(0, 3, steps, endpoint=False)
    seg = u.astype(int)
    frac = (u - seg)[:, None]
    v = np.asarray(TRIANGLE)
    return v[seg] * (1 - frac) + v[seg + 1] * frac


def _render(padded: np.ndarray, dx: float, dy: float) -> np.ndarray:
    """The image shifted by ``(dx, dy)`` pixels (bilinear), from ``padded [N, H+4, W+4]`` (2 px of
    zeros on each side, so shifts up to 1 px stay inside)."""
    h, w = padded.shape[1] - 4, padded.shape[2] - 4
    x0, y0 = int(np.floor(dx)), int(np.floor(dy))
    fx, fy = dx - x0, dy - y0
    out = np.zeros((padded.shape[0], h, w), np.float32)
    for a, wy in ((y0, 1 - fy), (y0 + 1, fy)):
        for b, wx in ((x0, 1 - fx), (x0 + 1, fx)):
            if wy * wx:
                out += np.float32(wy * wx) * padded[:, 2 - a : 2 - a + h, 2 - b : 2 - b + w]
    return out


def simulate_saccades(images: np.ndarray, seed: int = 0) -> list[np.ndarray]:
    """Event streams (tonic layout, ``SENSOR_SIZE``) for images ``[N, 8, 8]`` in ``[0, 1]``."""
    rng = np.random.default_rng(seed)
    w, h, _ = SENSOR_SIZE
    img = F.interpolate(torch.as_tensor(np.asarray(images, np.float32))[:, None], size=(16, 16),
                        mode="bilinear", align_corners=False)  # fmt: skip
    pad = ((w - 16) // 2 + 2, (w - 16) // 2 + 2, (h - 16) // 2 + 2, (h - 16) // 2 + 2)
    padded = F.pad(img, pad)[:, 0].numpy()
    n, steps = len(images), DURATION_US // STEP_US
    threshold = CONTRAST * (1 + 0.05 * rng.standard_normal((n, h, w))).astype(np.float32)
    ref = np.log(0.1 + _render(padded, *_path(steps)[0]))
    chunks = []
    for k, (dx, dy) in enumerate(_path(steps)):
        diff = np.log(0.1 + _render(padded, dx, dy)) - ref
        count = np.floor(np.abs(diff) / threshold).astype(np.int64)
        ref += np.sign(diff) * count * threshold
        sample, y, x = np.nonzero(count)
        reps = count[sample, y, x]
        on = diff[sample, y, x] > 0
        rs, ry, rx, rp = (np.repeat(a, reps) for a in (sample, y, x, on))
        t = k * STEP_US + rng.integers(0, STEP_US, len(rx))
        chunks.append((rs, rx, ry, t, rp))
    n_noise = rng.poisson(NOISE_HZ * DURATION_US * 1e-6 * w * h * 2, n)
    sample = np.repeat(np.arange(n), n_noise)
    m = len(sample)
    chunks.append((sample, rng.integers(0, w, m), rng.integers(0, h, m),
                   rng.integers(0, DURATION_US, m), rng.integers(0, 2, m)))  # fmt: skip
    sample, x, y, t, p = (np.concatenate(c) for c in zip(*chunks, strict=True))
    order = np.lexsort((t, sample))
    events = np.empty(len(order), EVENT_DTYPE)
    events["x"], events["y"], events["t"], events["p"] = x[order], y[order], t[order], p[order]
    bounds = np.searchsorted(sample[order], np.arange(n + 1))
    return [events[bounds[i] : bounds[i + 1]] for i in range(n)]


@lru_cache(maxsize=2)
def _frames(n_time_bins: int, limit: int | None) -> tuple[Tensor, Tensor]:
    from sklearn.datasets import load_digits as sklearn_digits

    raw = sklearn_digits()
    images, labels = raw.images[:limit] / 16.0, raw.target[:limit]
    streams = simulate_saccades(images, seed=SPLIT_SEED)
    window = DURATION_US // n_time_bins
    frames = np.stack([
        to_frames(ev, SENSOR_SIZE, time_window=window, start=0)[:n_time_bins] if len(ev) else
        np.zeros((n_time_bins, 2, SENSOR_SIZE[1], SENSOR_SIZE[0]), np.float32) for ev in streams
    ])  # fmt: skip
    if frames.shape[1] < n_time_bins:  # the last window can be empty: pad
        frames = np.pad(
            frames, ((0, 0), (0, n_time_bins - frames.shape[1]), (0, 0), (0, 0), (0, 0))
        )
    return torch.from_numpy(frames), torch.as_tensor(labels, dtype=torch.int64)


def load_event_digits(
    data_dir: str | None = None, seed: int = 0, *, n_time_bins: int = 10, limit: int | None = None
) -> DataBundle:
    """The event digits as frame sequences ``[T=n_time_bins, 2, 20, 20]`` (event counts per 30 ms).

    The train/test split is the one of ``digits`` (stratified, fixed seed): 1,438 / 359 samples.
    ``data_dir`` and ``seed`` are unused (the streams are simulated with a fixed seed); ``limit``
    keeps the first samples only (tests). Batches are time-major ``[T, B, 2, 20, 20]``.
    """
    check_positive_int("n_time_bins", n_time_bins)
    frames, labels = _frames(n_time_bins, limit)
    test_idx = stratified_indices(labels, TEST_FRACTION, SPLIT_SEED)
    is_test = torch.zeros(len(labels), dtype=torch.bool)
    is_test[test_idx] = True
    w, h, p = SENSOR_SIZE
    return DataBundle(
        train=SequenceDataset(frames[~is_test], labels[~is_test]),
        test=SequenceDataset(frames[is_test], labels[is_test]),
        num_classes=10,
        input_shape=(p, h, w),
        class_names=tuple(str(d) for d in range(10)),
        temporal=True,
        collate=collate_time_major,
    )
