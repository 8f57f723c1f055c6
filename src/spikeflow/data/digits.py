"""scikit-learn's bundled 8x8 handwritten digits (1,797 samples): no download needed."""

from __future__ import annotations

import torch

from spikeflow.data.bundle import DataBundle, stratified_indices, tensor_bundle

#: Share of the samples in the test split (stratified, seeded).
TEST_FRACTION = 0.2
#: Seed of the train/test split: fixed, so every run tests on the same 360 samples.
SPLIT_SEED = 1234


def load_digits(data_dir: str | None = None, seed: int = 0) -> DataBundle:
    """The digits as images ``[N, 1, 8, 8]`` in ``[0, 1]`` (pixel / 16), labels ``[N]`` in 0..9.

    The train/test split is stratified with a fixed seed (``SPLIT_SEED``), independent of ``seed``:
    1,438 training and 359 test samples. ``data_dir`` is unused (the data ships with scikit-learn).
    """
    from sklearn.datasets import load_digits as sklearn_digits

    raw = sklearn_digits()
    x = torch.as_tensor(raw.images, dtype=torch.float32).unsqueeze(1) / 16.0
    y = torch.as_tensor(raw.target, dtype=torch.int64)
    test_idx = stratified_indices(y, TEST_FRACTION, SPLIT_SEED)
    is_test = torch.zeros(len(y), dtype=torch.bool)
    is_test[test_idx] = True
    names = tuple(str(d) for d in range(10))
    return tensor_bundle(x[~is_test], y[~is_test], x[is_test], y[is_test], names)
