"""Result JSON is valid JSON: NaN and infinities are written as null."""

from __future__ import annotations

import json

from spikeflow.atomic import write_json


def test_non_finite_numbers_are_written_as_null(tmp_path):
    path = write_json(tmp_path / "m.json", {"loss": float("nan"), "h": [1.0, float("inf")]})
    text = path.read_text()
    assert "NaN" not in text and "Infinity" not in text
    strict = json.loads(text, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
    assert strict == {"loss": None, "h": [1.0, None]}
