"""Synapses between two groups, stored sparse (CSR: synapses sorted by presynaptic neuron).

A spike of presynaptic neuron ``i`` adds the weight of each of its synapses to the ``target``
variable of the postsynaptic neuron ``j`` (a synaptic channel of the post group, such as ``"e"``,
or ``"v"`` for a jump of the membrane potential, in the post group's units). With a delay of
``d`` steps, a spike emitted in step ``t`` reaches its target at the end of step ``t + d``
(``d = 0``: the end of the same step), so it acts on the integration of step ``t + d + 1``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spikeflow.errors import UserError, check_choice, check_positive_int, check_range
from spikeflow.plasticity.rstdp import RewardSTDP
from spikeflow.plasticity.stdp import STDP
from spikeflow.sim import connect
from spikeflow.sim.groups import NeuronGroup
from spikeflow.sim.values import Normal, Uniform, Value

RULES = ("all", "all_but_self", "one_to_one")


@dataclass
class Connectivity:
    """Synapses sorted by (pre, post): ``pre``, ``post`` index arrays ``[S]`` (local indices).

    ``order`` is the permutation from the user's ``i, j`` to this order (``None`` when the
    synapses were drawn or listed by a rule, already in this order)."""

    pre: np.ndarray
    post: np.ndarray
    order: np.ndarray | None = None

    def sorted(self, per_synapse: np.ndarray) -> np.ndarray:
        """A user-given per-synapse array ``[..., S]`` in (pre, post) order."""
        return per_synapse if self.order is None else per_synapse[..., self.order]


class Synapses:
    """Synapses from group ``pre`` to group ``post``.

    Arguments:
        pre: the presynaptic group.
        post: the postsynaptic group (may be ``pre``).
        target: the post group's channel name the weight is added to, or ``"v"``.
        rule: ``"all"``, ``"all_but_self"`` (no ``i == j``), ``"one_to_one"``; or give one of
        p: connect each pair independently with probability ``p`` (self-pairs included when
            ``pre`` is ``post``);
        in_degree: each post neuron receives from ``in_degree`` distinct random pre neurons;
        n_synapses: exactly this many synapses, each between a pre and a post neuron drawn
            uniformly (NEST's ``fixed_total_number``: a pair may get more than one synapse);
        i: presynaptic index of each synapse (local indices); give it with ``j``.
        j: postsynaptic index of each synapse (local indices).
            Drawing costs time and memory in proportion to the number of synapses; a network
            whose synapses cannot fit in memory is refused when it is built.
        weight: per-synapse weight (units of ``target``): a number, an array ``[S]`` (in the order
            of ``i, j`` when given, else of the sorted (pre, post) pairs) or ``[B, S]``, or a
            random spec. Weights are kept per batch copy, so plasticity acts on each copy alone.
        delay: per-synapse delay in steps (a non-negative int or an int array ``[S]``).
        stdp: a :class:`spikeflow.plasticity.STDP` rule acting on these weights, a
            :class:`spikeflow.plasticity.RewardSTDP` (reward-modulated: the rule's changes wait
            in an eligibility trace for the reward set with ``Network.set_reward``), or ``None``.
    """

    def __init__(
        self,
        pre: NeuronGroup,
        post: NeuronGroup,
        *,
        target: str,
        rule: str | None = None,
        p: float | None = None,
        in_degree: int | None = None,
        n_synapses: int | None = None,
        i=None,
        j=None,
        weight: Value = 1.0,
        delay=0,
        stdp=None,
        name: str | None = None,
    ) -> None:
        ways = (("rule", rule), ("p", p), ("in_degree", in_degree), ("n_synapses", n_synapses))
        given = [k for k, v in (*ways, ("i", i)) if v is not None]
        if len(given) != 1:
            raise UserError(
                "Synapses needs exactly one of rule, p, in_degree, n_synapses or i/j; "
                f"got {given or 'none'}"
            )
        if rule is not None:
            check_choice("rule", rule, RULES)
            if rule != "all" and pre.n != post.n:
                raise UserError(
                    f"rule={rule!r} needs groups of equal size; got {pre.n} and {post.n}"
                )
        if p is not None:
            check_range("p", p, 0.0, 1.0)
        if in_degree is not None:
            check_positive_int("in_degree", in_degree)
            if in_degree > pre.n:
                raise UserError(f"in_degree={in_degree} exceeds the pre group's size {pre.n}")
        if n_synapses is not None:
            check_positive_int("n_synapses", n_synapses, allow_zero=True)
        if (i is None) != (j is None):
            raise UserError("i and j must be given together")
        self.channel = post.channel_index(target)
        self.pre, self.post, self.target = pre, post, target
        self.rule, self.p, self.in_degree, self.n_synapses = rule, p, in_degree, n_synapses
        self.i = None if i is None else np.asarray(i, dtype=np.int64).ravel()
        self.j = None if j is None else np.asarray(j, dtype=np.int64).ravel()
        if self.i is not None:
            self._check_indices()
        if stdp is not None and not isinstance(stdp, STDP | RewardSTDP):
            raise UserError(f"stdp={stdp!r} is not valid; expected an STDP, a RewardSTDP or None")
        self.weight, self.delay, self.stdp = weight, delay, stdp
        self.name = name or f"{pre.name}->{post.name}:{target}"

    def _indices(self) -> tuple[np.ndarray, np.ndarray]:
        """The explicit ``i, j`` of a projection made from them (they are given together)."""
        if self.i is None or self.j is None:
            raise RuntimeError(f"{self.name} was not made from explicit i, j")
        return self.i, self.j

    def _check_indices(self) -> None:
        i, j = self._indices()
        if i.shape != j.shape:
            raise UserError(f"i has {i.size} entries but j has {j.size}; expected equal")
        for name, arr, n in (("i", i, self.pre.n), ("j", j, self.post.n)):
            if arr.size and (arr.min() < 0 or arr.max() >= n):
                raise UserError(
                    f"{name} ranges over [{arr.min()}, {arr.max()}]; expected [0, {n - 1}]"
                )

    def expected_count(self) -> float:
        """The number of synapses this projection will have (the mean, for ``p``)."""
        n_pre, n_post = self.pre.n, self.post.n
        if self.rule is not None:
            return {"all": n_pre * n_post, "all_but_self": n_pre * (n_pre - 1)}.get(
                self.rule, n_pre
            )
        if self.p is not None:
            return self.p * n_pre * n_post
        if self.in_degree is not None:
            return self.in_degree * n_post
        if self.n_synapses is not None:
            return self.n_synapses
        return self._indices()[0].size

    def size_text(self) -> str:
        """How this projection's size is set, for messages (``name: p=0.02, 800 x 800``)."""
        how = (
            next(
                f"{k}={v!r}"
                for k, v in (("rule", self.rule), ("p", self.p), ("in_degree", self.in_degree))
                if v is not None
            )
            if self.i is None
            else f"i, j of {self.i.size} synapses"
        )
        return f"{self.name}: {how}, {self.pre.n} x {self.post.n} neurons"

    def connectivity(self, rng: np.random.Generator) -> Connectivity:
        """Draw (or list) the synapses, sorted by (pre, post) (see :mod:`spikeflow.sim.connect`)."""
        n_pre, n_post = self.pre.n, self.post.n
        if self.rule == "one_to_one":
            pre = post = np.arange(n_pre)
        elif self.rule is not None:
            pre, post = np.divmod(np.arange(n_pre * n_post), n_post)
            if self.rule == "all_but_self":
                keep = pre != post
                pre, post = pre[keep], post[keep]
        elif self.p is not None:
            pre, post = connect.bernoulli(rng, n_pre, n_post, self.p)
        elif self.in_degree is not None:
            pre, post = connect.fixed_in_degree(rng, n_pre, n_post, self.in_degree)
        elif self.n_synapses is not None:
            pre, post = connect.fixed_total(rng, n_pre, n_post, self.n_synapses)
        else:
            i, j = self._indices()
            order = np.lexsort((j, i))
            pre, post = i[order], j[order]
            if pre.size > 1 and np.any((np.diff(pre) == 0) & (np.diff(post) == 0)):
                raise UserError(f"{self.name}: i, j list the same synapse twice")
            return Connectivity(pre, post, order)
        return Connectivity(pre.astype(np.int64), post.astype(np.int64))

    def weights(self, conn: Connectivity, batch: int, rng: np.random.Generator) -> np.ndarray:
        """Per-synapse weights ``[batch, S]`` in CSR order."""
        s = conn.pre.size
        if isinstance(self.weight, Uniform | Normal):
            return self.weight.sample(rng, (batch, s))
        try:
            w = np.asarray(self.weight, dtype=np.float64)
        except (TypeError, ValueError):
            raise UserError(
                f"{self.name}: weight={self.weight!r} is not valid; expected a number or an array"
            ) from None
        if not np.all(np.isfinite(w)):
            raise UserError(f"{self.name}: weight contains NaN or infinite values")
        if w.ndim == 0:
            return np.full((batch, s), float(w))
        if w.shape == (s,):
            return np.broadcast_to(conn.sorted(w), (batch, s)).copy()
        if w.shape == (batch, s):
            return np.array(conn.sorted(w))
        raise UserError(
            f"{self.name}: weight has shape {w.shape}; expected a number, [{s}] or [{batch}, {s}]"
        )

    def delays(self, conn: Connectivity) -> np.ndarray:
        """Per-synapse delays in steps ``[S]`` in CSR order."""
        d = np.asarray(self.delay)
        if d.dtype.kind not in "iu" or (d.size and d.min() < 0):
            raise UserError(
                f"{self.name}: delay must be a non-negative integer number of steps; got {self.delay!r}"
            )
        if d.ndim == 0:
            return np.full(conn.pre.size, int(d), dtype=np.int64)
        if d.shape != (conn.pre.size,):
            raise UserError(
                f"{self.name}: delay has shape {d.shape}; expected a number or [{conn.pre.size}]"
            )
        return conn.sorted(d).astype(np.int64)

    def __repr__(self) -> str:
        return f"Synapses({self.name!r})"
