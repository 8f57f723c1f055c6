"""Pure neuron step functions: ``step(x_t, state, params) -> (spikes, state, v_before_reset)``.

No module state; states and parameters are NamedTuples of tensors. :func:`scan` runs any step over
the time axis of ``[T, B, ...]`` inputs.
"""

from spikeflow.functional._core import RESET_MODES as RESET_MODES
from spikeflow.functional._core import SpikeParams as SpikeParams
from spikeflow.functional._core import fire_and_reset as fire_and_reset
from spikeflow.functional.adlif import AdLIFParams as AdLIFParams
from spikeflow.functional.adlif import AdLIFState as AdLIFState
from spikeflow.functional.adlif import adlif_step as adlif_step
from spikeflow.functional.alif import ALIFParams as ALIFParams
from spikeflow.functional.alif import ALIFState as ALIFState
from spikeflow.functional.alif import alif_step as alif_step
from spikeflow.functional.if_ import IFParams as IFParams
from spikeflow.functional.if_ import if_step as if_step
from spikeflow.functional.izhikevich import IzhikevichParams as IzhikevichParams
from spikeflow.functional.izhikevich import IzhikevichState as IzhikevichState
from spikeflow.functional.izhikevich import izhikevich_step as izhikevich_step
from spikeflow.functional.lif import LIFParams as LIFParams
from spikeflow.functional.lif import LIFState as LIFState
from spikeflow.functional.lif import lif_step as lif_step
from spikeflow.functional.recurrent import RecurrentParams as RecurrentParams
from spikeflow.functional.recurrent import RecurrentState as RecurrentState
from spikeflow.functional.recurrent import recurrent_step as recurrent_step
from spikeflow.functional.scan import Trace as Trace
from spikeflow.functional.scan import scan as scan
from spikeflow.functional.synaptic import SynapticParams as SynapticParams
from spikeflow.functional.synaptic import SynapticState as SynapticState
from spikeflow.functional.synaptic import synaptic_step as synaptic_step
