"""The digits dataset, the dataset registry, validation split and limits."""

import pytest
import torch

from spikeflow import data
from spikeflow.data.bundle import stratified_indices
from spikeflow.data.registry import register
from spikeflow.errors import UserError


def test_digits_split_is_fixed_and_stratified():
    a, b = data.load("digits", seed=0), data.load("digits", seed=5)
    assert len(a.train) == 1438 and len(a.test) == 359
    # The test split does not depend on the run seed.
    assert torch.equal(a.test.tensors[0], b.test.tensors[0])
    counts = torch.bincount(a.test.tensors[1], minlength=10)
    assert counts.min() >= 35 and counts.max() <= 37
    x = a.train.tensors[0]
    assert x.shape[1:] == (1, 8, 8) and float(x.min()) == 0.0 and float(x.max()) == 1.0


def test_validation_split_is_disjoint_stratified_and_seeded():
    b = data.load("digits", val_fraction=0.1, seed=3)
    assert len(b.train) + len(b.val) == 1438
    train_rows = {tuple(r.tolist()) for r in b.train.tensors[0].flatten(1)}
    val_rows = [tuple(r.tolist()) for r in b.val.tensors[0].flatten(1)]
    # Digits has a few duplicate images; nearly all validation rows are unseen in training.
    assert sum(r in train_rows for r in val_rows) <= 3
    assert torch.bincount(b.val.tensors[1], minlength=10).min() >= 13
    again = data.load("digits", val_fraction=0.1, seed=3)
    assert torch.equal(b.val.tensors[0], again.val.tensors[0])
    other = data.load("digits", val_fraction=0.1, seed=4)
    assert not torch.equal(b.val.tensors[0], other.val.tensors[0])


def test_limits():
    b = data.load("digits", limit_train=100, limit_test=50)
    assert len(b.train) == 100 and len(b.test) == 50
    with pytest.raises(UserError, match="limit_train=0"):
        data.load("digits", limit_train=0)


def test_stratified_indices_golden():
    labels = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1, 1, 1])
    idx = stratified_indices(labels, 0.5, seed=0)
    assert torch.bincount(labels[idx]).tolist() == [2, 3]


def test_unknown_dataset_lists_valid_names():
    with pytest.raises(UserError, match=r"dataset='cifar'.*digits.*fashion_mnist"):
        data.load("cifar")


def test_register_rejects_duplicates_and_bad_loaders():
    with pytest.raises(UserError, match="already registered"):
        register("Digits", lambda d, s: None, "again")
    with pytest.raises(UserError, match="callable"):
        register("new_set", 3, "not callable")


def test_bad_val_fraction():
    with pytest.raises(UserError, match="val_fraction=1"):
        data.load("digits", val_fraction=1.0)
