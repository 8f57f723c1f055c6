"""Spike counts, synaptic operations and an energy estimate per inference (NeuroBench-style).

Definitions (per inference = per sample, over all ``T`` time steps of one forward pass):

- **Spikes**: the number of spikes a neuron layer emits, summed over neurons and time steps,
  averaged over the batch. **Spike rate**: spikes / (neurons x ``T``), a probability per neuron and
  step.
- **Synaptic operations (SOPs)**: for a weight layer (``Linear``, ``Conv1d/2d/3d`` and transposed
  convolutions) whose input is binary (spikes), the number of accumulates the layer performs when it
  is run event-driven: every incoming spike is added into each of the outputs it is connected to,
  i.e. *incoming spikes x fan-out*, summed over time. This is NeuroBench's *effective* synaptic
  operation count for a spiking network. It is computed exactly, padding, stride, groups and
  dilation included, by running a copy of the layer with all-ones weights and no bias on the
  non-zero pattern of its input and summing the result.
  Spikes that reach a weight layer through average pooling or flatten are still events: each one
  is accumulated into the layer's outputs through the pooling window (counted with the pooling
  as a sum), so those operations are SOPs too.
- **MACs** of the spiking network: a weight layer whose input is *not* spikes (analog input currents
  on the first layer) multiplies each non-zero input by its weight, so its
  operations are counted as multiply-accumulates, with the same *non-zero input x fan-out* count.
  A converted network fed analog currents pays MACs in its first layer; when that input is the
  same at every step (a static image as a constant current) the product is computed once and its
  result reused, so it is counted once, not ``T`` times.
- **ANN MACs**: the multiply-accumulates of the equivalent non-spiking network (same layers and
  shapes, dense activations): for each weight layer, the ones-weight layer applied to an all-ones
  input of one time step's shape, summed (``in x out`` for ``Linear``; ``out elements x
  in/groups x kernel`` for a convolution, minus the products with zero padding). Counted once per
  inference, not ``T`` times (``ann_passes`` changes this for an ANN that processes a sequence).
- **Recurrent layers** (:class:`~spikeflow.nn.Recurrent`): spikes of step ``t - 1`` fed back through
  the recurrent weight add ``spikes x N`` (dense) or ``spikes x 1`` (one-to-one) accumulates.
- **Energy**: ``E = n_AC x 0.9 pJ + n_MAC x 4.6 pJ`` (32-bit floating-point add and multiply-add at
  45 nm, Horowitz, ISSCC 2014). The ANN's energy is ``ANN MACs x 4.6 pJ``.

Not counted (stated in every report): neuron state updates, memory and data movement, pooling,
batch norm (assumed folded) and the other weight-free layers.

Example::

    report = sf.energy.estimate(model, x)       # x: [T, B, ...] as the model takes it
    print(report.table())
    json.dump(report.as_dict(), f)
"""

from __future__ import annotations

import copy
import math
from dataclasses import asdict, dataclass, field

import torch
from torch import Tensor, nn

from spikeflow.deprecation import warn_renamed
from spikeflow.errors import UserError, check_positive_int, check_range
from spikeflow.functional import Trace
from spikeflow.nn.layers import Dropout, TimeDistributed
from spikeflow.nn.neuron import Neuron, check_input
from spikeflow.nn.recurrent import Recurrent
from spikeflow.nn.sequential import Sequential

PJ_PER_AC = 0.9
PJ_PER_MAC = 4.6
WEIGHT_LAYERS = (nn.Linear, nn.modules.conv._ConvNd)
WeightLayer = nn.Linear | nn.modules.conv._ConvNd
PASS_THROUGH = (nn.modules.pooling._AvgPoolNd, nn.Flatten, nn.Identity, nn.Dropout)


@dataclass(frozen=True)
class LayerEnergy:
    """One layer's counts, all per inference (per sample, summed over time steps)."""

    index: str
    name: str
    kind: str  # "synapse" | "neuron" | "recurrent" | "other"
    neurons: int = 0
    spikes: float = 0.0
    spike_rate: float = 0.0
    sops: float = 0.0
    macs: float = 0.0
    ann_macs: float = 0.0
    spike_input: bool | None = None
    energy_pj: float = 0.0
    ann_energy_pj: float = 0.0


@dataclass(frozen=True)
class EnergyReport:
    """Per-layer counts and totals of one :func:`estimate` call; energies in picojoules."""

    layers: list[LayerEnergy]
    num_steps: int
    batch: int
    pj_per_ac: float = PJ_PER_AC
    pj_per_mac: float = PJ_PER_MAC
    ann_passes: int = 1
    assumptions: list[str] = field(default_factory=list)

    @property
    def timesteps(self) -> int:
        """Deprecated name of :attr:`num_steps` (kept for one release)."""
        warn_renamed("timesteps", "num_steps", what="attribute")
        return self.num_steps

    @property
    def spikes(self) -> float:
        """Total spikes per inference over every neuron layer."""
        return sum(layer.spikes for layer in self.layers)

    @property
    def sops(self) -> float:
        """Total synaptic operations (accumulates) per inference."""
        return sum(layer.sops for layer in self.layers)

    @property
    def macs(self) -> float:
        """Multiply-accumulates the spiking network performs per inference (analog inputs)."""
        return sum(layer.macs for layer in self.layers)

    @property
    def ann_macs(self) -> float:
        """Multiply-accumulates of the equivalent ANN per inference."""
        return sum(layer.ann_macs for layer in self.layers)

    @property
    def energy_pj(self) -> float:
        """Estimated energy of the spiking network per inference, in pJ."""
        return sum(layer.energy_pj for layer in self.layers)

    @property
    def ann_energy_pj(self) -> float:
        """Estimated energy of the equivalent ANN per inference, in pJ."""
        return sum(layer.ann_energy_pj for layer in self.layers)

    def as_dict(self) -> dict:
        """A JSON-able dict: settings, assumptions, totals and one entry per layer."""
        ratio = self.energy_pj / self.ann_energy_pj if self.ann_energy_pj else None
        return {
            "definition": "NeuroBench-style effective synaptic operations, per inference",
            "num_steps": self.num_steps,
            "batch": self.batch,
            "pj_per_ac": self.pj_per_ac,
            "pj_per_mac": self.pj_per_mac,
            "ann_passes": self.ann_passes,
            "assumptions": list(self.assumptions),
            "totals": {
                "spikes": self.spikes,
                "sops": self.sops,
                "macs": self.macs,
                "ann_macs": self.ann_macs,
                "energy_pj": self.energy_pj,
                "ann_energy_pj": self.ann_energy_pj,
                "snn_over_ann_energy": ratio,
            },
            "layers": [asdict(layer) for layer in self.layers],
        }

    def table(self) -> str:
        """A text table: one row per layer, then totals and the assumptions."""
        head = ("layer", "name", "spikes", "rate", "SOPs", "MACs", "ANN MACs", "E (nJ)")
        rows = [head]
        for layer in self.layers:
            rows.append(
                (
                    layer.index,
                    layer.name,
                    _num(layer.spikes) if layer.kind in ("neuron", "recurrent") else "",
                    f"{layer.spike_rate:.4f}" if layer.kind in ("neuron", "recurrent") else "",
                    _num(layer.sops),
                    _num(layer.macs),
                    _num(layer.ann_macs),
                    f"{layer.energy_pj / 1e3:.3f}",
                )
            )
        rows.append(
            (
                "total",
                "",
                _num(self.spikes),
                "",
                _num(self.sops),
                _num(self.macs),
                _num(self.ann_macs),
                f"{self.energy_pj / 1e3:.3f}",
            )
        )
        widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
        lines = [
            "  ".join(
                c.ljust(w) if i < 2 else c.rjust(w)
                for i, (c, w) in enumerate(zip(r, widths, strict=True))
            )
            for r in rows
        ]
        lines.insert(1, "-" * len(lines[0]))
        lines.insert(len(lines) - 1, "-" * len(lines[0]))
        lines.append(
            f"per inference, T={self.num_steps}: SNN {self.energy_pj / 1e3:.3f} nJ, "
            f"equivalent ANN {self.ann_energy_pj / 1e3:.3f} nJ"
        )
        lines.extend(f"* {a}" for a in self.assumptions)
        return "\n".join(lines)


def _num(value: float) -> str:
    return f"{value:.4g}" if abs(value) < 1e4 else f"{value:.3e}"


def _ones_copy(layer: WeightLayer) -> WeightLayer:
    """A copy of a weight layer with every weight 1 and no bias (counts connections)."""
    ones = copy.deepcopy(layer)
    with torch.no_grad():
        ones.weight = nn.Parameter(torch.ones_like(layer.weight), requires_grad=False)
        if getattr(ones, "bias", None) is not None:
            ones.register_parameter("bias", None)
    return ones


def _is_binary(x: Tensor) -> bool:
    return bool(((x == 0) | (x == 1)).all())


def _sum_mode(layer: nn.Module, x: Tensor) -> Tensor:
    """``layer`` with averages turned into sums: every connection counted once."""
    if isinstance(layer, nn.modules.pooling._AvgPoolNd):
        k = layer.kernel_size
        return layer(x) * math.prod(k if isinstance(k, tuple) else (k,) * (x.dim() - 2))
    return layer(x)


def _fan_out_count(layer: WeightLayer, x: Tensor, chain: list[nn.Module]) -> float:
    """Sum over non-zero inputs of their fan-out: the ones-weight layer on the input's support
    (first passed through ``chain``, the weight-free layers between the spikes and ``layer``)."""
    ones = _ones_copy(layer)
    t, b = x.shape[:2]
    support = (x != 0).to(x.dtype).reshape(t * b, *x.shape[2:])
    for link in chain:
        support = _sum_mode(link, support) if not isinstance(link, Dropout) else support
    return float(ones(support).double().sum()) / b


def _dense_macs(layer: WeightLayer, x: Tensor) -> float:
    """MACs of one dense pass of ``layer`` for one sample of ``x`` ``[T, B, ...]``."""
    ones = _ones_copy(layer)
    return float(ones(torch.ones_like(x[0, :1])).double().sum())


def _weight_layer(layer: nn.Module) -> WeightLayer | None:
    if isinstance(layer, TimeDistributed) and isinstance(layer.layer, WEIGHT_LAYERS):
        return layer.layer
    return None


def _layer_name(layer: nn.Module) -> str:
    inner = layer.layer if isinstance(layer, TimeDistributed) else layer
    if isinstance(inner, nn.Linear):
        return f"Linear({inner.in_features}->{inner.out_features})"
    if isinstance(inner, nn.modules.conv._ConvNd):
        k = "x".join(str(s) for s in inner.kernel_size)
        return f"{type(inner).__name__}({inner.in_channels}->{inner.out_channels}, {k})"
    if isinstance(inner, Recurrent):
        return f"{type(inner).__name__}({inner.size}, {inner.connectivity})"
    return type(inner).__name__


class _Counter:
    def __init__(self, pj_ac: float, pj_mac: float, ann_passes: int) -> None:
        self.pj_ac, self.pj_mac, self.ann_passes = pj_ac, pj_mac, ann_passes
        self.rows: list[LayerEnergy] = []
        self.source: Tensor | None = None
        self.chain: list[nn.Module] = []

    def walk(self, model: Sequential, x: Tensor, records: list, prefix: str = "") -> None:
        b = x.shape[1]
        if not prefix:
            self._track(None, x)
        for i, (layer, record) in enumerate(zip(model.layers, records, strict=True)):
            index = f"{prefix}{i}"
            if isinstance(layer, Sequential):
                self.walk(layer, x, record, prefix=f"{index}.")
                last = record[-1]
                x = last.spikes if isinstance(last, Trace) else last
                continue
            out = record.spikes if isinstance(record, Trace) else record
            if isinstance(layer, Neuron):
                self.rows.append(self._neuron(index, layer, out, b))
            elif (inner := _weight_layer(layer)) is not None:
                self.rows.append(self._synapse(index, layer, inner, x))
            else:
                self.rows.append(LayerEnergy(index, _layer_name(layer), "other"))
            self._track(layer, out)
            x = out

    def _track(self, layer: nn.Module | None, out: Tensor) -> None:
        """Remember the last spike tensor and the linear weight-free layers applied since."""
        if _is_binary(out):
            self.source, self.chain = out, []
        elif self.source is not None and isinstance(layer, TimeDistributed | Dropout):
            inner = layer.layer if isinstance(layer, TimeDistributed) else layer
            keep = isinstance(inner, (*PASS_THROUGH, Dropout))
            self.source, self.chain = (self.source, [*self.chain, inner]) if keep else (None, [])
        else:
            self.source, self.chain = None, []

    def _neuron(self, index: str, layer: Neuron, spikes: Tensor, b: int) -> LayerEnergy:
        t = spikes.shape[0]
        per_step = spikes[0, 0].numel()
        count = float(spikes.double().sum()) / b
        rate = count / (per_step * t) if per_step else 0.0
        if not isinstance(layer, Recurrent):
            return LayerEnergy(index, _layer_name(layer), "neuron", per_step, count, rate)
        fan_out = layer.size if layer.connectivity == "dense" else 1
        sops = float(spikes[:-1].double().sum()) / b * fan_out
        ann = float(per_step * fan_out * self.ann_passes)
        return LayerEnergy(
            index,
            _layer_name(layer),
            "recurrent",
            per_step,
            count,
            rate,
            sops=sops,
            ann_macs=ann,
            spike_input=True,
            energy_pj=sops * self.pj_ac,
            ann_energy_pj=ann * self.pj_mac,
        )

    def _synapse(self, index: str, layer: nn.Module, inner: WeightLayer, x: Tensor) -> LayerEnergy:
        source = self.source  # set by _track for every binary x, kept through weight-free layers
        if source is not None:  # accumulates: spikes reach their fan-out through pooling, flatten
            sops, macs = _fan_out_count(inner, source, self.chain), 0.0
        else:  # multiplies: a constant analog input is multiplied once per inference
            constant = bool((x == x[:1]).all())
            sops, macs = 0.0, _fan_out_count(inner, x[:1] if constant else x, [])
        ann = _dense_macs(inner, x) * self.ann_passes
        return LayerEnergy(
            index,
            _layer_name(layer),
            "synapse",
            sops=sops,
            macs=macs,
            ann_macs=ann,
            spike_input=source is not None,
            energy_pj=sops * self.pj_ac + macs * self.pj_mac,
            ann_energy_pj=ann * self.pj_mac,
        )


def estimate(
    model: Sequential,
    x: Tensor,
    *,
    pj_per_ac: float = PJ_PER_AC,
    pj_per_mac: float = PJ_PER_MAC,
    ann_passes: int = 1,
) -> EnergyReport:
    """Count spikes, synaptic operations and MACs of ``model`` on ``x``; estimate energy.

    Arguments:
        model: a :class:`spikeflow.nn.Sequential` (nested ones are walked; weight layers are
            ``TimeDistributed`` ``Linear`` / ``Conv*``; neuron layers any
            :class:`~spikeflow.nn.Neuron`).
        x: the model's input ``[T, B, ...]``: analog currents or encoded spikes. Counts are averaged
            over the ``B`` samples.
        pj_per_ac: energy of one accumulate, in pJ (default 0.9: 32-bit float at 45 nm,
            Horowitz 2014).
        pj_per_mac: energy of one multiply-accumulate, in pJ (default 4.6, same source).
        ann_passes: passes of the equivalent ANN per inference (1 for a static input).

    Returns:
        An :class:`EnergyReport` (per inference); the model runs in eval mode without gradients and
        its training flag is restored afterwards.
    """
    if not isinstance(model, Sequential):
        raise UserError(
            f"model={type(model).__name__} is not valid; expected a spikeflow.nn.Sequential"
        )
    check_input(x)
    check_range("pj_per_ac", pj_per_ac, 0)
    check_range("pj_per_mac", pj_per_mac, 0)
    check_positive_int("ann_passes", ann_passes)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            records = model.trace(x)
            counter = _Counter(pj_per_ac, pj_per_mac, ann_passes)
            counter.walk(model, x, records)
    finally:
        model.train(was_training)
    return EnergyReport(
        layers=counter.rows,
        num_steps=int(x.shape[0]),
        batch=int(x.shape[1]),
        pj_per_ac=pj_per_ac,
        pj_per_mac=pj_per_mac,
        ann_passes=ann_passes,
        assumptions=_assumptions(pj_per_ac, pj_per_mac, ann_passes),
    )


def _assumptions(pj_ac: float, pj_mac: float, ann_passes: int) -> list[str]:
    return [
        f"{pj_ac} pJ per accumulate (AC) and {pj_mac} pJ per multiply-accumulate (MAC): "
        "32-bit float at 45 nm (Horowitz, ISSCC 2014)",
        "SOPs = incoming spikes x fan-out (event-driven accumulates), summed over time steps",
        "spikes reaching a weight layer through average pooling or flatten count as SOPs "
        "(pooling counted as a sum)",
        "a weight layer whose input is not spikes (e.g. the first layer fed analog currents) counts "
        "its non-zero inputs x fan-out as MACs; once per inference when that input is constant in "
        "time (its product is computed once and reused), else at every time step",
        f"equivalent ANN: dense MACs of the same layers, {ann_passes} pass(es) per inference",
        "not counted: neuron state updates, memory access and data movement, pooling, batch norm "
        "(folded) and other weight-free layers",
        "per inference = per sample, averaged over the batch",
    ]
