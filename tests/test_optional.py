"""A missing optional package is one UserError naming the feature, the package and the extra."""

import sys

import pytest

from spikeflow.errors import UserError
from spikeflow.optional import require


def test_require_returns_the_module():
    import json

    assert require("json", extra="none", feature="x") is json


def test_missing_package_names_feature_package_and_extra():
    expected = r"NIR export needs the optional package 'no_such_pkg_x'.*spikeflow\[nir\]"
    with pytest.raises(UserError, match=expected):
        require("no_such_pkg_x.sub", extra="nir", feature="NIR export")


def test_pip_name_differs_from_module():
    with pytest.raises(UserError, match=r"optional package 'some-dist'.*pip install some-dist"):
        require("no_such_pkg_y", extra="e", feature="f", package="some-dist")


@pytest.mark.parametrize(
    ("blocked", "call"),
    [
        ("nir", lambda: __import__("spikeflow.interop", fromlist=["to_nir"]).to_nir(None, dt=1e-3)),
        ("nir", lambda: __import__("spikeflow.interop", fromlist=["from_nir"]).from_nir("x.nir")),
    ],
)
def test_interop_without_nir_is_a_user_error(monkeypatch, blocked, call):
    monkeypatch.setitem(sys.modules, blocked, None)  # import of a None entry raises ImportError
    with pytest.raises(UserError, match=r"spikeflow\[nir\]"):
        call()


def test_shd_without_h5py_is_a_user_error(monkeypatch, tmp_path):
    from spikeflow.data.shd import _open

    monkeypatch.setitem(sys.modules, "h5py", None)
    with pytest.raises(UserError, match=r"spikeflow\[temporal\]"):
        _open(tmp_path / "x.h5")
