"""The shared name registry: lower-cased unique names, type checks, errors listing the names."""

import pytest

from spikeflow.errors import UserError
from spikeflow.registry import Registry


def test_register_get_available_unregister():
    reg: Registry[int] = Registry("thing", int)
    assert reg.register("Two", 2) == 2
    reg.register("one", 1)
    assert reg.get("TWO") == 2 and reg.available() == ("one", "two") and "ONE" in reg
    assert reg.unregister("one") == 1 and reg.available() == ("two",) and len(reg) == 1


def test_duplicates_wrong_types_and_unknown_names_are_refused():
    reg: Registry[int] = Registry("thing", int)
    reg.register("a", 1)
    reg.register("b", 2)
    with pytest.raises(UserError, match="thing 'a' is already registered"):
        reg.register("A", 3)
    with pytest.raises(TypeError, match="expected an instance of int"):
        reg.register("c", "3")
    with pytest.raises(UserError, match="thing name=''"):
        reg.register("", 3)
    with pytest.raises(UserError, match=r"thing='z' is not valid; expected one of a, b"):
        reg.get("z")


def test_predicate_check_names_what_is_expected():
    reg: Registry[object] = Registry("hook", callable, "a callable")
    reg.register("f", print)
    with pytest.raises(UserError, match="expected a callable"):
        reg.register("g", 3)
