"""The pairwise cover behind the kernel tests' default matrix."""

import itertools

import pytest

from .variant_matrix import pairwise, variant_matrix


def _covered(axes, combos):
    return all(
        any(c[i] == a and c[j] == b for c in combos)
        for i, j in itertools.combinations(range(len(axes)), 2)
        for a in axes[i]
        for b in axes[j]
    )


@pytest.mark.parametrize(
    "axes",
    [
        [("lif", "if", "synaptic", "alif"), (0, 2), (True, False)],
        [("a", "b", "c"), (1, 2, 3), ("x", "y", "z"), (True, False)],
        [(0, 1)] * 5,
    ],
)
def test_every_pair_of_values_is_covered_by_fewer_combinations(axes):
    cover = pairwise(*axes)
    full = list(itertools.product(*axes))
    assert _covered(axes, cover) and len(cover) < len(full)
    assert cover == [c for c in full if c in cover]  # the product's order
    assert not _covered(axes, cover[1:])  # drop the first pick and a pair is lost


def test_a_two_axis_cover_is_the_whole_product_and_one_axis_is_itself():
    assert pairwise((1, 2), ("a", "b")) == [(1, "a"), (1, "b"), (2, "a"), (2, "b")]
    assert pairwise((1, 2, 3)) == [(1,), (2,), (3,)]


def test_four_kinds_by_refractory_by_detach_need_eight_variants():
    """The kernel tests' main axes: 8 compiled variants by default instead of 16."""
    assert len(pairwise(("lif", "if", "synaptic", "alif"), (0, 2), (True, False))) == 8


def test_params_outside_the_cover_carry_the_matrix_marker():
    params = variant_matrix(("lif", "alif"), (0, 2), (True, False))
    assert len(params) == 8
    marked = [p.values for p in params if any(m.name == "matrix" for m in p.marks)]
    plain = [p.values for p in params if not p.marks]
    assert len(plain) == len(pairwise(("lif", "alif"), (0, 2), (True, False)))
    assert sorted(marked + plain) == sorted(
        itertools.product(("lif", "alif"), (0, 2), (True, False))
    )


def test_runtime_values_are_crossed_with_every_combination_and_share_its_mark():
    params = variant_matrix(("lif", "alif"), (0, 2), (True, False), each=("subtract", "zero"))
    assert len(params) == 16
    for p in params:
        twin = [q for q in params if q.values[:3] == p.values[:3]]
        assert len(twin) == 2 and {q.values[3] for q in twin} == {"subtract", "zero"}
        assert all(q.marks == p.marks for q in twin)
