"""Unsupervised digit learning in the style of Diehl & Cook (2015), run in the simulator.

Inputs are Poisson sources whose rates follow pixel intensities (``x * max_rate`` Hz, ``x`` in
[0, 1]). They drive conductance-based excitatory LIF neurons with an adaptive threshold
(``theta`` jumps by ``theta_plus`` mV per spike and decays with ``tau_theta`` = 1e7 ms, i.e.
homeostasis) through plastic synapses (triplet-style STDP of the paper: a presynaptic spike
depresses by ``nu_pre * y1``, a postsynaptic spike potentiates by ``nu_post * x1 * y2``, nearest-
spike traces of 20, 20 and 40 ms). Every excitatory spike inhibits all other excitatory neurons
(a conductance jump of ``w_inh`` on their inhibitory channel, standing in for the paper's
one-to-one excitatory-to-inhibitory loop). Before each example the input weights of every neuron
are scaled to sum to ``w_total``. Each example is shown for 350 ms (with ``max_rate`` raised by
32 Hz and the example repeated while fewer than 5 spikes come out), then the network rests.

After training, each neuron is labelled with the class to which it responded most (mean spike
count per class over the labelling set); an input is classified by the class whose labelled
neurons fire most on average. ``theta`` is frozen during labelling and testing.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from spikeflow.errors import UserError, check_positive_int
from spikeflow.plasticity.normalize import normalize_incoming
from spikeflow.plasticity.stdp import STDP
from spikeflow.sim.groups import AdaptiveLIFGroup
from spikeflow.sim.inputs import PoissonGroup
from spikeflow.sim.monitors import SpikeMonitor
from spikeflow.sim.network import Network
from spikeflow.sim.synapses import Synapses
from spikeflow.sim.values import Uniform


class DiehlCook:
    """The network and its training, labelling and classification (see the module docstring).

    Arguments:
        n_inputs: number of input pixels. neurons: number of excitatory neurons.
        max_rate: input rate (Hz) of a pixel of intensity 1.
        w_total: sum of each neuron's input weights after normalisation.
        w_inh: lateral inhibitory conductance jump (relative to the leak).
        theta_plus: threshold increase per spike (mV). nu_pre, nu_post: STDP rates.
        present_ms: presentation time (ms). dt: time step (ms). seed: random seed.
    """

    def __init__(
        self,
        n_inputs: int,
        neurons: int = 100,
        *,
        max_rate: float = 255.0,
        w_total: float = 12.0,
        w_inh: float = 17.0,
        theta_plus: float = 0.05,
        nu_pre: float = 1e-4,
        nu_post: float = 1e-2,
        present_ms: float = 350.0,
        dt: float = 0.5,
        seed: int = 0,
    ) -> None:
        check_positive_int("n_inputs", n_inputs)
        check_positive_int("neurons", neurons)
        self.n_inputs, self.neurons = n_inputs, neurons
        self.max_rate, self.w_total, self.present_ms = max_rate, w_total, present_ms
        self.inp = PoissonGroup(n_inputs, 0.0, name="input")
        self.exc = AdaptiveLIFGroup(
            neurons, tau_m=100.0, v_rest=-65.0, v_reset=-65.0, v_th=-52.0, refractory=5.0,
            synapse="conductance", tau_syn={"e": 1.0, "i": 2.0}, e_rev={"e": 0.0, "i": -100.0},
            tau_a=1e7, b=theta_plus, name="exc",
        )  # fmt: skip
        rule = STDP(
            tau_plus=20.0, tau_minus=20.0, tau_y=40.0, a_plus=0.0, a3_plus=nu_post,
            a_minus=nu_pre, w_min=0.0, w_max=1.0, pairing="nearest",
        )  # fmt: skip
        self.syn = Synapses(
            self.inp, self.exc, target="e", rule="all", weight=Uniform(0.0, 0.3), stdp=rule
        )
        self.lateral = Synapses(self.exc, self.exc, target="i", rule="all_but_self", weight=w_inh)
        self.spikes = SpikeMonitor(self.exc)
        self.net = Network(
            self.inp, self.exc, self.syn, self.lateral, self.spikes, dt=dt, seed=seed
        )
        self.labels: np.ndarray | None = None

    def weights(self) -> np.ndarray:
        """Input weights as ``[neurons, n_inputs]``."""
        w = self.net.weights(self.syn)[0]
        pre, post = self.net.connectivity(self.syn)
        out = np.zeros((self.neurons, self.n_inputs))
        out[post, pre] = w
        return out

    def _check(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.n_inputs:
            raise UserError(f"x has shape {x.shape}; expected [samples, {self.n_inputs}]")
        if x.size and (x.min() < 0 or x.max() > 1):
            raise UserError(
                f"x ranges over [{x.min():g}, {x.max():g}]; expected intensities in [0, 1]"
            )
        return x

    def present(self, x: np.ndarray, *, learn: bool) -> np.ndarray:
        """Show one example ``[n_inputs]``; returns the spike count of every neuron ``[neurons]``."""
        theta = None if learn else self.net.state(self.exc, "theta")
        extra = 0.0
        for _ in range(20):
            if learn:
                normalize_incoming(self.net, self.syn, self.w_total)
            self.spikes.clear()
            self.net.set_drive(
                self.inp, np.minimum(x * (self.max_rate + extra), 1000.0 / self.net.dt)
            )
            self.net.run(self.present_ms, plasticity=learn)
            counts = self.spikes.count(1)[0]
            self.net.rest()
            if theta is not None:
                self.net.set_state(self.exc, "theta", theta)
            if counts.sum() >= 5:
                break
            extra += 32.0
        return counts

    def fit(
        self, x: np.ndarray, epochs: int = 1, progress: Callable[[int, int], object] | None = None
    ) -> None:
        """Learn (unsupervised) from ``x`` ``[samples, n_inputs]`` in [0, 1] for ``epochs``."""
        x = self._check(x)
        check_positive_int("epochs", epochs)
        rng = np.random.default_rng(self.net.seed)
        total = epochs * len(x)
        for e in range(epochs):
            for k, s in enumerate(rng.permutation(len(x))):
                self.present(x[s], learn=True)
                if progress is not None:
                    progress(e * len(x) + k + 1, total)

    def responses(
        self, x: np.ndarray, progress: Callable[[int, int], object] | None = None
    ) -> np.ndarray:
        """Spike counts ``[samples, neurons]`` without learning (theta frozen).

        ``progress(done, total)`` is called after each sample when given.
        """
        x = self._check(x)
        counts = np.zeros((len(x), self.neurons))
        for k, row in enumerate(x):
            counts[k] = self.present(row, learn=False)
            if progress is not None:
                progress(k + 1, len(x))
        return counts

    def assign_labels(self, counts: np.ndarray, y: np.ndarray, n_classes: int) -> np.ndarray:
        """Label each neuron with the class of its highest mean response."""
        means = np.stack(
            [
                counts[y == c].mean(0) if np.any(y == c) else np.zeros(self.neurons)
                for c in range(n_classes)
            ]
        )
        self.labels = means.argmax(0)
        return self.labels

    def classify(self, counts: np.ndarray, n_classes: int) -> np.ndarray:
        """Class with the highest mean spike count of its labelled neurons, per sample."""
        if self.labels is None:
            raise UserError("the network has no labels yet; call assign_labels first")
        votes = np.zeros((counts.shape[0], n_classes))
        for c in range(n_classes):
            mine = self.labels == c
            if np.any(mine):
                votes[:, c] = counts[:, mine].mean(1)
        return votes.argmax(1)
