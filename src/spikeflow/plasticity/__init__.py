"""Plasticity over plain tensors and in the simulator: STDP, homeostasis, normalisation, WTA.

Rules take spike trains ``[T, B, N]`` and weight matrices ``[N_post, N_pre]``, so they work on
``spikeflow.nn`` layers and on simulator recordings alike; :class:`STDP` also runs inside the
simulator's compiled engine (``spikeflow.sim.Synapses(..., stdp=rule)``), and so does
reward-modulated STDP (``stdp=RewardSTDP(rule, tau_e=..., lr=...)``). Time in ms.
"""

from spikeflow.plasticity.homeostasis import adaptive_threshold as adaptive_threshold
from spikeflow.plasticity.normalize import normalize_incoming as normalize_incoming
from spikeflow.plasticity.normalize import normalize_weights as normalize_weights
from spikeflow.plasticity.rstdp import RewardSTDP as RewardSTDP
from spikeflow.plasticity.rstdp import RSTDPState as RSTDPState
from spikeflow.plasticity.rstdp import reward_stdp as reward_stdp
from spikeflow.plasticity.stdp import STDP as STDP
from spikeflow.plasticity.stdp import STDPState as STDPState
from spikeflow.plasticity.wta import lateral_inhibition as lateral_inhibition
from spikeflow.plasticity.wta import winner_take_all as winner_take_all
