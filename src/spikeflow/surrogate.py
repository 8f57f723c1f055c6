"""Surrogate gradients for the non-differentiable spike.

The forward pass of a spike is the Heaviside step ``H(x) = 1 if x >= 0 else 0`` of the distance to
threshold ``x = v - threshold``. The backward pass replaces ``H'(x)`` (zero almost everywhere) with the
derivative of a smooth *primitive* ``P(x)`` that rises from 0 to 1. Every surrogate here is normalised
so that ``P(-inf) = 0``, ``P(inf) = 1`` and ``grad = dP/dx`` integrates to 1; ``alpha`` sets the
sharpness (the peak of ``grad`` grows with ``alpha``).

Surrogates are frozen, picklable dataclasses kept in a registry::

    import spikeflow as sf
    sg = sf.surrogate.get("atan", alpha=2.0)
    spikes = sg(v - 1.0)                  # Heaviside forward, atan derivative backward
    sf.surrogate.available()              # ('atan', 'erfc', 'fast_sigmoid', ...)

New surrogates subclass :class:`Surrogate` and are added with :func:`register`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor

from spikeflow.errors import UserError
from spikeflow.registry import Registry

__all__ = [
    "ATan",
    "Erfc",
    "FastSigmoid",
    "Sigmoid",
    "StraightThrough",
    "Surrogate",
    "Triangle",
    "available",
    "get",
    "heaviside",
    "register",
    "spike",
]


def heaviside(x: Tensor) -> Tensor:
    """The Heaviside step.

    Arguments:
        x: distance to threshold ``v - threshold``, any shape.

    Returns:
        ``1`` where ``x >= 0`` else ``0``, same shape and dtype as ``x``.
    """
    return (x >= 0).to(x.dtype)


class _Spike(torch.autograd.Function):
    """Heaviside forward, surrogate derivative backward."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, surrogate: Surrogate) -> Tensor:
        ctx.save_for_backward(x)
        ctx.surrogate = surrogate
        return heaviside(x)

    @staticmethod
    def backward(ctx: Any, grad_out: Tensor) -> tuple[Tensor, None]:
        (x,) = ctx.saved_tensors
        return grad_out * ctx.surrogate.grad(x), None


def spike(x: Tensor, surrogate: Surrogate) -> Tensor:
    """Spike where ``x >= 0``; gradients flow through ``surrogate.grad``.

    Arguments:
        x: distance to threshold ``v - threshold``, any shape.
        surrogate: the surrogate whose ``grad`` replaces the step's derivative.

    Returns:
        Spikes (0 or 1), same shape and dtype as ``x``.
    """
    return _Spike.apply(x, surrogate)


@dataclass(frozen=True)
class Surrogate:
    """Base class: a smooth primitive ``P`` of the step and its derivative ``grad``.

    Arguments:
        alpha: sharpness (> 0). Larger values approach the true step.
    """

    alpha: float = 2.0
    name: ClassVar[str] = ""

    def __post_init__(self) -> None:
        if (
            not isinstance(self.alpha, int | float)
            or not math.isfinite(self.alpha)
            or self.alpha <= 0
        ):
            raise UserError(
                f"alpha={self.alpha!r} is not valid for surrogate {self.name!r}; "
                "expected a finite number > 0"
            )

    def primitive(self, x: Tensor) -> Tensor:
        """Smooth approximation of the step, rising from 0 to 1.

        Arguments:
            x: distance to threshold, any shape.

        Returns:
            ``P(x)``, same shape.
        """
        raise NotImplementedError(f"surrogate {type(self).__name__} must implement primitive(x)")

    def grad(self, x: Tensor) -> Tensor:
        """Derivative of :meth:`primitive`: the surrogate derivative of the spike.

        Arguments:
            x: distance to threshold, any shape.

        Returns:
            ``dP/dx``, same shape.
        """
        raise NotImplementedError(f"surrogate {type(self).__name__} must implement grad(x)")

    def __call__(self, x: Tensor) -> Tensor:
        return spike(x, self)


@dataclass(frozen=True)
class ATan(Surrogate):
    """Arc-tangent (Fang et al. 2021): ``P = 1/2 + atan(pi/2 alpha x) / pi``."""

    alpha: float = 2.0
    name: ClassVar[str] = "atan"

    def primitive(self, x: Tensor) -> Tensor:
        return 0.5 + torch.atan(0.5 * math.pi * self.alpha * x) / math.pi

    def grad(self, x: Tensor) -> Tensor:
        return 0.5 * self.alpha / (1 + (0.5 * math.pi * self.alpha * x) ** 2)


@dataclass(frozen=True)
class Sigmoid(Surrogate):
    """Logistic: ``P = sigmoid(alpha x)``."""

    alpha: float = 4.0
    name: ClassVar[str] = "sigmoid"

    def primitive(self, x: Tensor) -> Tensor:
        return torch.sigmoid(self.alpha * x)

    def grad(self, x: Tensor) -> Tensor:
        s = torch.sigmoid(self.alpha * x)
        return self.alpha * s * (1 - s)


@dataclass(frozen=True)
class FastSigmoid(Surrogate):
    """SuperSpike (Zenke & Ganguli 2018): ``grad = alpha / 2 / (1 + alpha |x|)^2``."""

    alpha: float = 10.0
    name: ClassVar[str] = "fast_sigmoid"

    def primitive(self, x: Tensor) -> Tensor:
        ax = self.alpha * x
        return 0.5 + 0.5 * ax / (1 + ax.abs())

    def grad(self, x: Tensor) -> Tensor:
        return 0.5 * self.alpha / (1 + self.alpha * x.abs()) ** 2


@dataclass(frozen=True)
class Triangle(Surrogate):
    """Triangle (Esser et al. 2016, Bellec et al. 2018): ``grad = alpha max(0, 1 - alpha |x|)``."""

    alpha: float = 1.0
    name: ClassVar[str] = "triangle"

    def primitive(self, x: Tensor) -> Tensor:
        ax = (self.alpha * x).clamp(-1, 1)
        return 0.5 + ax - 0.5 * ax * ax.abs()

    def grad(self, x: Tensor) -> Tensor:
        return self.alpha * (1 - self.alpha * x.abs()).clamp_min(0)


@dataclass(frozen=True)
class StraightThrough(Surrogate):
    """Straight-through (rectangular) estimator: ``grad = alpha`` on ``|x| < 1 / (2 alpha)``, else 0."""

    alpha: float = 1.0
    name: ClassVar[str] = "straight_through"

    def primitive(self, x: Tensor) -> Tensor:
        return (self.alpha * x + 0.5).clamp(0, 1)

    def grad(self, x: Tensor) -> Tensor:
        return self.alpha * (x.abs() < 0.5 / self.alpha).to(x.dtype)


@dataclass(frozen=True)
class Erfc(Surrogate):
    """Gaussian derivative (erfc primitive): ``P = erfc(-alpha x) / 2``."""

    alpha: float = 2.0
    name: ClassVar[str] = "erfc"

    def primitive(self, x: Tensor) -> Tensor:
        return 0.5 * torch.erfc(-self.alpha * x)

    def grad(self, x: Tensor) -> Tensor:
        return self.alpha / math.sqrt(math.pi) * torch.exp(-((self.alpha * x) ** 2))


def _is_surrogate_class(entry: object) -> bool:
    return isinstance(entry, type) and issubclass(entry, Surrogate)


#: The surrogate classes by name.
SURROGATES: Registry[type[Surrogate]] = Registry(
    "surrogate", _is_surrogate_class, "a subclass of spikeflow.surrogate.Surrogate"
)


def register(cls: type[Surrogate], name: str | None = None) -> type[Surrogate]:
    """Add a :class:`Surrogate` subclass under ``name``, lower-cased; usable as a decorator.

    Arguments:
        cls: the subclass.
        name: the name (default ``cls.name``); a name already taken is rejected.

    Returns:
        ``cls``. A class that is not a surrogate raises an error that is both a
        :class:`UserError` and a ``TypeError``.
    """
    key = name if name is not None else getattr(cls, "name", "")
    return SURROGATES.register(key, cls)


for _cls in (ATan, Sigmoid, FastSigmoid, Triangle, StraightThrough, Erfc):
    register(_cls)
register(Erfc, "gaussian")
register(FastSigmoid, "superspike")


def available() -> tuple[str, ...]:
    """Returns:
    The names of the registered surrogates, sorted.
    """
    return SURROGATES.available()


def get(surrogate: str | Surrogate, **params: float) -> Surrogate:
    """A surrogate instance.

    Arguments:
        surrogate: a registered name (any case), or an instance (passed through).
        params: constructor arguments (e.g. ``alpha=2.0``); only with a name.

    Returns:
        The :class:`Surrogate`.
    """
    if isinstance(surrogate, Surrogate):
        if params:
            raise UserError(
                f"surrogate={surrogate!r} is already an instance; parameters {sorted(params)} "
                "can only be given with a surrogate name"
            )
        return surrogate
    return SURROGATES.get(surrogate)(**params)
