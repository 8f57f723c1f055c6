"""Spike encoders and decoders; every spike tensor is time-major, ``[T, B, ...]``.

Encoders turn data into spikes: :func:`rate` (Bernoulli or Poisson), :func:`latency` (one
spike per value, linear or log), :func:`delta` (ON/OFF threshold crossings of a signal) and
:func:`population` (Gaussian receptive fields, to be combined with the others);
:func:`sensor_motion` makes the frames of a sensor moving over an image, for :func:`delta`.
Decoders read
spikes or membranes back: :func:`spike_count`, :func:`first_spike_time`, :func:`max_membrane`.
"""

from spikeflow.encode.decode import first_spike_time as first_spike_time
from spikeflow.encode.decode import max_membrane as max_membrane
from spikeflow.encode.decode import spike_count as spike_count
from spikeflow.encode.delta import DELTA_STARTS as DELTA_STARTS
from spikeflow.encode.delta import delta as delta
from spikeflow.encode.latency import LATENCY_METHODS as LATENCY_METHODS
from spikeflow.encode.latency import latency as latency
from spikeflow.encode.latency import latency_times as latency_times
from spikeflow.encode.motion import sensor_motion as sensor_motion
from spikeflow.encode.population import population as population
from spikeflow.encode.population import population_centres as population_centres
from spikeflow.encode.rate import RATE_METHODS as RATE_METHODS
from spikeflow.encode.rate import rate as rate
