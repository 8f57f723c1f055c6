"""Checkpoints that cannot be trusted or used are refused with a one-line UserError."""

from __future__ import annotations

import pytest
import torch

from spikeflow.errors import UserError
from spikeflow.train import checkpoint


def test_a_pickle_with_objects_is_refused_without_advising_weights_only_false(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"format": checkpoint.FORMAT, "x": torch.nn.Linear(1, 1)}, path)
    with pytest.raises(UserError, match="refuses to load") as err:
        checkpoint.load(path)
    assert "weights_only" not in str(err.value) and "\n" not in str(err.value)


def test_a_hand_made_checkpoint_without_its_keys_names_them(tmp_path):
    path = tmp_path / "hand.pt"
    checkpoint.save(path, {"model": {}})
    assert checkpoint.load(path, required=("model",))["model"] == {}
    with pytest.raises(UserError, match=r"lacks the keys \['optimizer', 'epoch'\]"):
        checkpoint.load(path, required=("model", "optimizer", "epoch"))
