"""Optional dependencies: import one, or say which extra installs it.

Features that need a package outside the core dependencies (``nir``, ``h5py``, ``sktime``,
``tensorboard``, ``optuna``, ``triton``) import it through :func:`require`, so a missing package is
one :class:`~spikeflow.errors.UserError` line naming the feature, the package and the
``pip install 'spikeflow[extra]'`` command, never a ``ModuleNotFoundError`` traceback.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from spikeflow.errors import UserError


def require(module: str, *, extra: str, feature: str, package: str | None = None) -> ModuleType:
    """Import ``module`` or raise a :class:`UserError` that names the extra installing it.

    Arguments:
        module: the module to import, e.g. ``"nir"`` or ``"torch.utils.tensorboard"``.
        extra: the spikeflow extra that installs it (``pip install 'spikeflow[extra]'``).
        feature: what needs it, for the message (e.g. ``"NIR export"``).
        package: the pip package name when it differs from ``module``'s top-level name.

    Returns:
        The imported module.
    """
    try:
        return importlib.import_module(module)
    except ImportError as err:
        name = package or module.split(".")[0]
        raise UserError(
            f"{feature} needs the optional package {name!r}, which is not installed ({err}); "
            f"install it with pip install 'spikeflow[{extra}]' (or pip install {name})"
        ) from err
