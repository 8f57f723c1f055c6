"""``spikeflow plot``: draw the single-neuron figure and rasters of encoded digits.

``spikeflow plot neuron`` simulates one real :mod:`spikeflow.nn` neuron under a step current
and draws input, membrane potential, threshold, spikes, resets and refractory periods.
``spikeflow plot raster`` encodes one handwritten digit (scikit-learn's ``load_digits``) with a
:mod:`spikeflow.encode` encoder and draws the spikes of its 64 pixels.
"""

from __future__ import annotations

import argparse
import math
from typing import Any

import torch
import torch.nn.functional as F

from spikeflow import encode, plot
from spikeflow import nn as snn
from spikeflow.errors import UserError, check_positive_int, check_range

MODELS = ("lif", "if", "synaptic", "alif", "izhikevich")
ENCODERS = ("rate", "latency", "delta")
TITLES = {
    "lif": "Leaky integrate-and-fire neuron",
    "if": "Integrate-and-fire neuron",
    "synaptic": "Current-based synaptic LIF neuron",
    "alif": "Adaptive LIF neuron",
    "izhikevich": "Izhikevich neuron",
}
# options that only some models take (the value None means "not given")
ONLY_FOR = {
    "beta": ("lif", "alif", "synaptic"),
    "tau": ("lif", "alif", "synaptic", "if"),
    "alpha": ("synaptic",),
    "tau_syn": ("synaptic",),
    "tau_adapt": ("alif",),
    "beta_a": ("alif",),
    "threshold": ("lif", "if", "synaptic", "alif"),
    "reset": ("lif", "if", "synaptic", "alif"),
    "refractory": ("lif", "if", "synaptic", "alif"),
    "preset": ("izhikevich",),
}


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("plot", help="draw a neuron's response or an encoded digit")
    kinds = parser.add_subparsers(dest="figure", metavar="FIGURE", required=True)

    neuron = kinds.add_parser(
        "neuron",
        help="input current, membrane potential and spikes of one neuron",
        description="Simulate one spikeflow.nn neuron under a step current (on from --onset) and "
        "draw the classic figure. Time is in ms with dt = --dt ms per step. For the leaky models "
        "the input is scaled by --gain, by default so that --current is the steady-state "
        "potential it drives: a current above the threshold makes the neuron fire.",
    )
    neuron.add_argument("--model", choices=MODELS, default="lif")
    neuron.add_argument(
        "--current",
        type=float,
        default=None,
        help="step current amplitude (default 1.5; 10 for izhikevich)",
    )
    neuron.add_argument("--steps", type=int, default=200, help="time steps (default 200)")
    neuron.add_argument(
        "--onset",
        type=int,
        default=None,
        help="step at which the current switches on (default steps // 10)",
    )
    neuron.add_argument("--dt", type=float, default=1.0, help="time step in ms (default 1)")
    neuron.add_argument("--beta", type=float, default=None, help="membrane decay per step")
    neuron.add_argument(
        "--tau",
        type=float,
        default=None,
        help="membrane time constant in ms (default 20; beta = exp(-dt/tau))",
    )
    neuron.add_argument("--alpha", type=float, default=None, help="synaptic decay per step")
    neuron.add_argument(
        "--tau-syn", type=float, default=None, help="synaptic time constant in ms (default 5)"
    )
    neuron.add_argument(
        "--tau-adapt",
        type=float,
        default=None,
        help="ALIF adaptation time constant in ms (default 100)",
    )
    neuron.add_argument(
        "--beta-a", type=float, default=None, help="ALIF threshold increase per spike (default 0.2)"
    )
    neuron.add_argument("--threshold", type=float, default=None, help="firing threshold (1)")
    neuron.add_argument(
        "--reset",
        choices=("subtract", "zero", "none"),
        default=None,
        help="reset mode (default subtract)",
    )
    neuron.add_argument(
        "--refractory", type=int, default=None, help="refractory period in steps (default 5)"
    )
    neuron.add_argument(
        "--preset",
        choices=sorted(snn.IZHIKEVICH_PRESETS),
        default=None,
        help="Izhikevich firing pattern (default regular_spiking)",
    )
    neuron.add_argument(
        "--gain",
        type=float,
        default=None,
        help="input x = gain * current (default: see description)",
    )
    neuron.add_argument("--out", default="neuron.png", help="PNG file to write")
    neuron.add_argument("--dpi", type=int, default=160, help="resolution (default 160)")
    neuron.set_defaults(func=run_neuron)

    raster = kinds.add_parser(
        "raster",
        help="spikes of an encoded handwritten digit",
        description="Encode sample --sample of scikit-learn's 8x8 digits (intensities scaled to "
        "[0, 1]) and draw one raster row per pixel. delta encodes a simulated sensor motion "
        "over the image (as N-MNIST was recorded) into ON and OFF events.",
    )
    raster.add_argument("--encoder", choices=ENCODERS, default="rate")
    raster.add_argument("--steps", type=int, default=50, help="time steps (default 50)")
    raster.add_argument("--sample", type=int, default=0, help="index of the digit (default 0)")
    raster.add_argument("--seed", type=int, default=0, help="seed of the rate encoder")
    raster.add_argument(
        "--threshold",
        type=float,
        default=0.1,
        help="delta encoder: intensity change per event (default 0.1)",
    )
    raster.add_argument("--out", default="raster.png", help="PNG file to write")
    raster.add_argument("--dpi", type=int, default=160, help="resolution (default 160)")
    raster.set_defaults(func=run_raster)


# ---------------------------------------------------------------- neuron


def _check_applicable(args: argparse.Namespace) -> None:
    for option, models in ONLY_FOR.items():
        if getattr(args, option) is not None and args.model not in models:
            flag = "--" + option.replace("_", "-")
            raise UserError(
                f"{flag} does not apply to --model {args.model}; it applies to " + ", ".join(models)
            )
    if args.beta is not None and args.tau is not None:
        raise UserError(f"give --beta or --tau, not both (--beta {args.beta}, --tau {args.tau})")
    if args.alpha is not None and args.tau_syn is not None:
        raise UserError("give --alpha or --tau-syn, not both")


def _decay(value: float | None, tau: float | None, default_tau: float, dt: float) -> float:
    if value is not None:
        check_range("beta/alpha", value, 0.0, 1.0)
        return value
    tau = default_tau if tau is None else tau
    check_range("tau", tau, 0.0, low_open=True)
    return math.exp(-dt / tau)


def build_neuron(args: argparse.Namespace) -> tuple[snn.Neuron, float, dict[str, Any]]:
    """The neuron the arguments describe, the default input gain, and facts for the subtitle."""
    dt = args.dt
    if args.model == "izhikevich":
        preset = args.preset or "regular_spiking"
        neuron = snn.Izhikevich(preset, dt=dt)
        facts = {
            "preset": preset.replace("_", " "),
            "spike peak": "30 mV",
            "reset": f"v = {float(neuron.v_reset):g} mV",
        }
        return neuron, 1.0, facts
    common = {
        "threshold": 1.0 if args.threshold is None else args.threshold,
        "reset": args.reset or "subtract",
        "refractory": 5 if args.refractory is None else args.refractory,
    }
    facts: dict[str, Any] = {}
    if args.model == "if":
        tau = 20.0 if args.tau is None else args.tau
        check_range("tau", tau, 0.0, low_open=True)
        neuron: snn.Neuron = snn.IF(**common)
        gain = dt / tau
        facts["input scale"] = f"dt/τ = {gain:.3g}"
    else:
        beta = _decay(args.beta, args.tau, 20.0, dt)
        facts["β"] = f"{beta:.3f}"
        gain = 1.0 - beta
        if args.model == "lif":
            neuron = snn.LIF(beta=beta, **common)
        elif args.model == "synaptic":
            alpha = _decay(args.alpha, args.tau_syn, 5.0, dt)
            facts["α"] = f"{alpha:.3f}"
            gain *= 1.0 - alpha
            neuron = snn.Synaptic(alpha=alpha, beta=beta, **common)
        else:
            rho = _decay(None, args.tau_adapt, 100.0, dt)
            beta_a = 0.2 if args.beta_a is None else args.beta_a
            facts["ρ"] = f"{rho:.3f}"
            facts["β_a"] = f"{beta_a:g}"
            neuron = snn.ALIF(beta=beta, rho=rho, beta_a=beta_a, **common)
    facts["ϑ"] = f"{common['threshold']:g}"
    facts["reset"] = common["reset"]
    facts["refractory"] = f"{common['refractory']} steps"
    return neuron, gain, facts


def _adaptive_threshold(neuron: snn.Neuron, x: torch.Tensor) -> torch.Tensor:
    """ALIF's effective threshold ``threshold + b_prev`` at every step ``[T]`` (one neuron)."""
    state = None
    theta = []
    for x_t in x:
        b_prev = torch.zeros_like(x_t) if state is None else state.b
        theta.append(neuron.threshold + b_prev)
        _, state = neuron.step(x_t, state)
    return torch.stack(theta).flatten()


def run_neuron(args: argparse.Namespace) -> int:
    _check_applicable(args)
    check_positive_int("--steps", args.steps)
    check_positive_int("--dpi", args.dpi)
    check_range("--dt", args.dt, 0.0, low_open=True)
    onset = args.steps // 10 if args.onset is None else args.onset
    check_range("--onset", onset, 0, args.steps - 1)
    current = (
        args.current if args.current is not None else (10.0 if args.model == "izhikevich" else 1.5)
    )
    neuron, gain, facts = build_neuron(args)
    gain = gain if args.gain is None else args.gain
    i_in = torch.zeros(args.steps, dtype=torch.float64)
    i_in[onset:] = current
    x = (gain * i_in).reshape(args.steps, 1).to(torch.get_default_dtype())
    with torch.no_grad():
        trace = neuron.trace(x)
        threshold: Any = float(neuron.threshold)
        if args.model == "alif":
            threshold = _adaptive_threshold(neuron, x)
    facts["input"] = f"I = {current:g} from {onset * args.dt:g} ms"
    subtitle = ",  ".join(f"{k} = {v}" if len(k) <= 3 else f"{k}: {v}" for k, v in facts.items())
    fig = plot.neuron(
        i_in,
        trace.v[:, 0],
        trace.spikes[:, 0],
        threshold=threshold,
        reset=neuron.reset,
        v_reset=float(neuron.v_reset),
        refractory=neuron.refractory,
        dt=args.dt,
        time_unit="ms",
        title=TITLES[args.model],
        subtitle=subtitle,
        current_label="current $I$",
        **({"threshold_label": "spike cut-off (v_peak)"} if args.model == "izhikevich" else {}),
    )
    path = plot.save(fig, args.out, dpi=args.dpi)
    count = int(trace.spikes.sum())
    rate = count / (args.steps * args.dt * 1e-3)
    print(
        f"{args.model}: {count} spikes in {args.steps * args.dt:g} ms ({rate:.1f} Hz); wrote {path}"
    )
    return 0


# ---------------------------------------------------------------- raster


def load_digit(index: int) -> tuple[torch.Tensor, int]:
    """Digit ``index`` of scikit-learn's digits, intensities ``[8, 8]`` in [0, 1], and its label."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    count = len(digits.target)
    if not (isinstance(index, int) and 0 <= index < count):
        raise UserError(f"--sample={index!r} is out of range; expected 0 .. {count - 1}")
    image = torch.tensor(digits.images[index], dtype=torch.float32) / 16.0
    return image, int(digits.target[index])


def sensor_motion(image: torch.Tensor, steps: int, amplitude: float = 1.0) -> torch.Tensor:
    """The image ``[H, W]`` seen by a sensor moving along a triangle (three saccades), ``[T, H*W]``.

    The offset in pixels visits (0, 0) -> (a, a) -> (2a, 0) -> (0, 0) at constant speed; each
    frame is resampled bilinearly, with zeros outside the image.
    """
    h, w = image.shape
    corners = torch.tensor([[0.0, 0.0], [amplitude, amplitude], [2 * amplitude, 0.0], [0.0, 0.0]])
    phase = torch.linspace(0.0, 3.0, steps)
    leg = phase.floor().clamp(max=2).long()
    frac = (phase - leg).unsqueeze(1)
    offset = corners[leg] * (1 - frac) + corners[leg + 1] * frac  # [T, 2] as (dx, dy)
    theta = torch.zeros(steps, 2, 3)
    theta[:, 0, 0] = 1.0
    theta[:, 1, 1] = 1.0
    theta[:, 0, 2] = -2.0 * offset[:, 0] / w
    theta[:, 1, 2] = -2.0 * offset[:, 1] / h
    grid = F.affine_grid(theta, [steps, 1, h, w], align_corners=False)
    frames = F.grid_sample(image.expand(steps, 1, h, w), grid, align_corners=False)
    return frames.reshape(steps, h * w)


def run_raster(args: argparse.Namespace) -> int:
    check_positive_int("--steps", args.steps)
    check_positive_int("--dpi", args.dpi)
    image, label = load_digit(args.sample)
    pixels = image.reshape(1, -1)  # [B=1, 64]
    groups = None
    if args.encoder == "rate":
        generator = torch.Generator().manual_seed(args.seed)
        spikes = encode.rate(pixels, args.steps, generator=generator)[:, 0]
        how = f"rate coding (Bernoulli, p = intensity, seed {args.seed})"
    elif args.encoder == "latency":
        spikes = encode.latency(pixels, args.steps, normalize=True)[:, 0]
        how = "latency coding (linear, normalised: brightest pixels first)"
    else:
        signal = sensor_motion(image, args.steps).unsqueeze(1)  # [T, 1, 64]
        events = encode.delta(signal, threshold=args.threshold)[:, 0]  # [T, 2, 64]
        spikes = events.reshape(args.steps, -1)
        groups = [("ON", 64), ("OFF", 64)]
        how = f"delta coding of a moving sensor (threshold {args.threshold:g})"
    fig = plot.raster(
        spikes,
        groups=groups,
        title=f"Digit {label} (sample {args.sample}): {how}",
        neuron_label="pixel" if groups is None else "pixel (ON, then OFF)",
        stimulus=image,
    )
    path = plot.save(fig, args.out, dpi=args.dpi)
    print(
        f"{args.encoder}: {int(spikes.sum())} spikes from {spikes.shape[1]} inputs over "
        f"{args.steps} steps; wrote {path}"
    )
    return 0
