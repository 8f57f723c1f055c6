"""A clock-driven simulator for biological spiking networks (units: ms, mV, Hz).

Groups of neurons, sparse synapses with delays and plasticity, monitors, and a network whose
engine advances whole stretches of time in compiled code (numba), optionally for ``batch``
independent copies at once. See ``docs/sim.md``.
"""

from spikeflow.sim.groups import IZHIKEVICH_PRESETS as IZHIKEVICH_PRESETS
from spikeflow.sim.groups import AdaptiveLIFGroup as AdaptiveLIFGroup
from spikeflow.sim.groups import AdLIFGroup as AdLIFGroup
from spikeflow.sim.groups import IzhikevichGroup as IzhikevichGroup
from spikeflow.sim.groups import LIFGroup as LIFGroup
from spikeflow.sim.groups import NeuronGroup as NeuronGroup
from spikeflow.sim.inputs import PoissonGroup as PoissonGroup
from spikeflow.sim.inputs import SpikeGeneratorGroup as SpikeGeneratorGroup
from spikeflow.sim.monitors import PopulationRateMonitor as PopulationRateMonitor
from spikeflow.sim.monitors import SpikeMonitor as SpikeMonitor
from spikeflow.sim.monitors import StateMonitor as StateMonitor
from spikeflow.sim.network import Network as Network
from spikeflow.sim.synapses import Synapses as Synapses
from spikeflow.sim.values import Normal as Normal
from spikeflow.sim.values import TimedArray as TimedArray
from spikeflow.sim.values import Uniform as Uniform
