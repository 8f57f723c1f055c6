"""The file readers fed truncated, random and mutated bytes: a correct result or a UserError."""

from __future__ import annotations

import nir
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import spikeflow as sf
from spikeflow.errors import UserError
from spikeflow.interop import from_nir, to_nir
from spikeflow.train import checkpoint
from spikeflow.train.config import from_toml

SETTINGS = settings(
    max_examples=20, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
)
TOML = b'model = "mlp"\nlr = 0.001\nepochs = 2\nbatch_size = 16\n'


def _mutate(data: bytes, cut: float, flips: list[tuple[float, int]]) -> bytes:
    """``data`` truncated to a fraction ``cut`` of its length, with bytes overwritten."""
    out = bytearray(data[: max(1, int(len(data) * cut))])
    for where, byte in flips:
        out[int(where * (len(out) - 1))] = byte
    return bytes(out)


MUTATIONS = st.tuples(
    st.floats(0.0, 1.0), st.lists(st.tuples(st.floats(0.0, 1.0), st.integers(0, 255)), max_size=4)
)


def _reference_files(tmp_path_factory):
    root = tmp_path_factory.mktemp("readers")
    checkpoint.save(root / "ok.pt", {"model": {"w": torch.ones(3)}, "epoch": 1})
    model = sf.nn.Sequential(torch.nn.Linear(3, 2), sf.nn.LIF(beta=0.5))
    nir.write(root / "ok.nir", to_nir(model, dt=1e-3, input_shape=(3,)))
    return root


def _try(read) -> None:
    try:
        read()
    except UserError as err:
        assert "\n" not in str(err)


@SETTINGS
@given(mutation=MUTATIONS, junk=st.binary(max_size=64))
def test_checkpoint_reader(tmp_path_factory, mutation, junk):
    root = _reference_files(tmp_path_factory)
    data = (root / "ok.pt").read_bytes()
    for i, blob in enumerate((_mutate(data, *mutation), junk)):
        (root / f"bad{i}.pt").write_bytes(blob)
        _try(lambda p=root / f"bad{i}.pt": checkpoint.load(p, required=("model", "epoch")))


@SETTINGS
@given(mutation=MUTATIONS, junk=st.binary(max_size=64))
def test_nir_reader(tmp_path_factory, mutation, junk):
    root = _reference_files(tmp_path_factory)
    data = (root / "ok.nir").read_bytes()
    for i, blob in enumerate((_mutate(data, *mutation), junk)):
        (root / f"bad{i}.nir").write_bytes(blob)
        _try(lambda p=root / f"bad{i}.nir": from_nir(p))


@SETTINGS
@given(mutation=MUTATIONS, junk=st.binary(max_size=64))
def test_toml_config_reader(tmp_path, mutation, junk):
    for i, blob in enumerate((_mutate(TOML, *mutation), junk)):
        path = tmp_path / f"bad{i}.toml"
        path.write_bytes(blob)
        _try(lambda p=path: from_toml(p))


def test_the_unmutated_files_read(tmp_path_factory, tmp_path):
    root = _reference_files(tmp_path_factory)
    assert checkpoint.load(root / "ok.pt", required=("model",))["epoch"] == 1
    spikes, _ = from_nir(root / "ok.nir")(torch.rand(4, 2, 3))
    assert spikes.shape == (4, 2, 2)
    (tmp_path / "ok.toml").write_bytes(TOML)
    assert from_toml(tmp_path / "ok.toml").lr == 0.001
