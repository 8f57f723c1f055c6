"""Training: configuration, the seeded and resumable :class:`Trainer`, checkpoints and metrics."""

from spikeflow.train.callbacks import Callback as Callback
from spikeflow.train.config import TrainConfig as TrainConfig
from spikeflow.train.config import from_toml as from_toml
from spikeflow.train.config import to_toml as to_toml
from spikeflow.train.parallel import SingleProcess as SingleProcess
from spikeflow.train.trainer import Trainer as Trainer
