"""``spikeflow plot``: draw the single-neuron figure and rasters of encoded digits.

``spikeflow plot neuron`` simulates one real :mod:`spikeflow.nn` neuron under a step current
and draws input, membrane potential, threshold, spikes, resets and refractory periods.
``spikeflow plot raster`` encodes one image of a dataset (by default scikit-learn's 8x8 digits,
through :func:`spikeflow.data.sample`) with a :mod:`spikeflow.encode` encoder and draws the spikes
of its pixels.
"""

from __future__ import annotations

import argparse
from typing import Any, cast

import torch

from spikeflow import data, encode, plot
from spikeflow import nn as snn
from spikeflow.commands.flags import add_renamed_flag
from spikeflow.errors import UserError, check_positive_int, check_range
from spikeflow.functional import RESET_MODES, ALIFState
from spikeflow.models.neurons import NEURON_KINDS, build_neuron

ENCODERS = ("rate", "latency", "delta")
_LEAKY = ("lif", "plif", "alif", "synaptic")
# options that only some models take (the value None means "not given")
ONLY_FOR = {
    "beta": _LEAKY,
    "tau": (*_LEAKY, "if"),
    "alpha": ("synaptic",),
    "tau_syn": ("synaptic",),
    "tau_adapt": ("alif",),
    "beta_a": ("alif",),
    "threshold": (*_LEAKY, "if"),
    "reset": (*_LEAKY, "if"),
    "refractory": (*_LEAKY, "if"),
    "preset": ("izhikevich",),
}


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the sub-commands ``plot neuron`` and ``plot raster``.

    Arguments:
        subparsers: the ``spikeflow`` parser's sub-parsers.
    """
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
    neuron.add_argument("--model", choices=NEURON_KINDS.available(), default="lif")
    neuron.add_argument(
        "--current",
        type=float,
        default=None,
        help="step current amplitude (default 1.5; 10 for izhikevich)",
    )
    neuron.add_argument("--num-steps", type=int, default=200, help="time steps (default 200)")
    add_renamed_flag(neuron, "--steps", "num_steps", type=int)
    neuron.add_argument(
        "--onset",
        type=int,
        default=None,
        help="step at which the current switches on (default num_steps // 10)",
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
        choices=RESET_MODES,
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
        description="Encode training sample --sample of a static image dataset (by default "
        "scikit-learn's 8x8 digits, intensities in [0, 1]) and draw one raster row per pixel. "
        "delta encodes a simulated sensor motion over the image (as N-MNIST was recorded) into "
        "ON and OFF events.",
    )
    raster.add_argument("--encoder", choices=ENCODERS, default="rate")
    raster.add_argument("--num-steps", type=int, default=50, help="time steps (default 50)")
    add_renamed_flag(raster, "--steps", "num_steps", type=int)
    raster.add_argument(
        "--dataset", choices=data.available(), default="digits", help="(default digits)"
    )
    raster.add_argument("--data-dir", metavar="DIR", help="where the dataset files are")
    raster.add_argument(
        "--sample", type=int, default=0, help="index in the training split (default 0)"
    )
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


#: The default step current where 1.5 x threshold does not make the model fire: Izhikevich's
#: in its own units, AdLIF's against its strong default adaptation (a = 0.5, rho = 0.98).
DEFAULT_CURRENT = {"izhikevich": 10.0, "adlif": 20.0}

#: The largest resolution the figures accept (a 9 x 5 inch figure is then 10,800 x 6,000 pixels).
MAX_DPI = 1200


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


def build_figure_neuron(
    args: argparse.Namespace,
) -> tuple[snn.ThresholdNeuron, float, dict[str, Any]]:
    """The neuron the arguments describe, the default input gain, and facts for the subtitle.

    The gain makes ``--current`` the steady-state potential it drives (leaky models) or scales it
    by ``dt / tau`` (IF), so a current above the threshold makes the neuron fire.

    Arguments:
        args: the parsed ``plot neuron`` command line (times in ms).

    Returns:
        ``(neuron, gain, facts)``: the module, the input scale, and ``{name: text}``.
    """
    dt = args.dt
    facts: dict[str, Any]
    if args.model == "izhikevich":
        preset = args.preset or "regular_spiking"
        neuron = build_neuron("izhikevich", preset=preset, dt=dt)
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
    facts = {}
    tau = 20.0 if args.tau is None else check_range("--tau", args.tau, 0.0, low_open=True)
    tau_syn = (
        5.0 if args.tau_syn is None else check_range("--tau-syn", args.tau_syn, 0.0, low_open=True)
    )
    tau_adapt = (
        100.0
        if args.tau_adapt is None
        else check_range("--tau-adapt", args.tau_adapt, 0.0, low_open=True)
    )
    if args.model == "if":
        neuron = build_neuron("if", **common)
        gain = dt / tau
        facts["input scale"] = f"dt/τ = {gain:.3g}"
    else:
        membrane = {"beta": args.beta} if args.beta is not None else {"tau": tau}
        if args.model == "synaptic":
            membrane = {"beta": args.beta} if args.beta is not None else {"tau_mem": tau}
            membrane.update(
                {"alpha": args.alpha} if args.alpha is not None else {"tau_syn": tau_syn}
            )
        elif args.model == "alif":
            membrane.update(tau_adapt=tau_adapt)
            membrane.update(beta_a=0.2 if args.beta_a is None else args.beta_a)
        neuron = build_neuron(args.model, dt=dt, **membrane, **common)
        beta = _scalar(neuron, "beta")
        facts["β"] = f"{beta:.3f}"
        # AdLIF scales its input by 1 - beta itself (Bittar & Garner 2022)
        gain = 1.0 if args.model == "adlif" else 1.0 - beta
        if args.model == "synaptic":
            alpha = _scalar(neuron, "alpha")
            facts["α"] = f"{alpha:.3f}"
            gain *= 1.0 - alpha
        elif args.model == "alif":
            facts["ρ"] = f"{_scalar(neuron, 'rho'):.3f}"
            facts["β_a"] = f"{_scalar(neuron, 'beta_a'):g}"
    facts["ϑ"] = f"{common['threshold']:g}"
    facts["reset"] = common["reset"]
    facts["refractory"] = f"{common['refractory']} steps"
    return neuron, gain, facts


def _scalar(neuron: snn.Neuron, name: str) -> float:
    """The one-element parameter tensor ``name`` of ``neuron`` (a float for the subtitle)."""
    value = getattr(neuron, name)
    if not isinstance(value, torch.Tensor):
        raise TypeError(
            f"{type(neuron).__name__}.{name} is a {type(value).__name__}; expected a tensor"
        )
    return float(value.detach())


def _adaptive_threshold(neuron: snn.ALIF, x: torch.Tensor) -> torch.Tensor:
    """ALIF's effective threshold ``threshold + b_prev`` at every step ``[T]`` (one neuron)."""
    state: ALIFState | None = None
    theta = []
    for x_t in x:
        b_prev = torch.zeros_like(x_t) if state is None else state.b
        theta.append(neuron.threshold + b_prev)
        _, new = neuron.step(x_t, state)
        state = cast(ALIFState, new)  # ALIF.step returns its state_cls
    return torch.stack(theta).flatten()


def run_neuron(args: argparse.Namespace) -> int:
    """Simulate the neuron under a step current and draw the figure.

    Arguments:
        args: the parsed command line.

    Returns:
        The exit code (0: done).
    """
    _check_applicable(args)
    check_positive_int("--num-steps", args.num_steps)
    check_range("--dpi", args.dpi, 1, MAX_DPI)
    check_range("--dt", args.dt, 0.0, low_open=True)
    onset = args.num_steps // 10 if args.onset is None else args.onset
    check_range("--onset", onset, 0, args.num_steps - 1)
    current = args.current if args.current is not None else DEFAULT_CURRENT.get(args.model, 1.5)
    neuron, gain, facts = build_figure_neuron(args)
    gain = gain if args.gain is None else args.gain
    i_in = torch.zeros(args.num_steps, dtype=torch.float64)
    i_in[onset:] = current
    x = (gain * i_in).reshape(args.num_steps, 1).to(torch.get_default_dtype())
    with torch.no_grad():
        trace = neuron.trace(x)
        threshold: Any = float(neuron.threshold)
        if isinstance(neuron, snn.ALIF):  # --model alif
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
        title=NEURON_KINDS.get(args.model).title,
        subtitle=subtitle,
        current_label="current $I$",
        **({"threshold_label": "spike cut-off (v_peak)"} if args.model == "izhikevich" else {}),
    )
    path = plot.save(fig, args.out, dpi=args.dpi)
    count = int(trace.spikes.sum())
    rate = count / (args.num_steps * args.dt * 1e-3)
    print(
        f"{args.model}: {count} spikes in {args.num_steps * args.dt:g} ms ({rate:.1f} Hz); wrote {path}"
    )
    return 0


# ---------------------------------------------------------------- raster


def run_raster(args: argparse.Namespace) -> int:
    """Encode one image and draw the raster of its spikes.

    Arguments:
        args: the parsed command line.

    Returns:
        The exit code (0: done).
    """
    check_positive_int("--num-steps", args.num_steps)
    check_range("--dpi", args.dpi, 1, MAX_DPI)
    check_range("--seed", args.seed, 0)
    check_range("--threshold", args.threshold, 0.0, low_open=True)
    if not isinstance(args.sample, int) or args.sample < 0:
        raise UserError(f"--sample={args.sample!r} is out of range; expected an index >= 0")
    x, label = data.sample(args.dataset, args.sample, data_dir=args.data_dir)
    if x.dim() != 3 or x.shape[0] != 1:
        raise UserError(
            f"--dataset {args.dataset} gives samples of shape {tuple(x.shape)}; expected "
            "one-channel images [1, H, W]"
        )
    image = x[0]
    pixels = image.reshape(1, -1)  # [B=1, H*W]
    n = pixels.shape[1]
    groups = None
    if args.encoder == "rate":
        generator = torch.Generator().manual_seed(args.seed)
        spikes = encode.rate(pixels, args.num_steps, generator=generator)[:, 0]
        how = f"rate coding (Bernoulli, p = intensity, seed {args.seed})"
    elif args.encoder == "latency":
        spikes = encode.latency(pixels, args.num_steps, normalize=True)[:, 0]
        how = "latency coding (linear, normalised: brightest pixels first)"
    else:
        signal = encode.sensor_motion(image, args.num_steps).unsqueeze(1)  # [T, 1, H*W]
        events = encode.delta(signal, threshold=args.threshold)[:, 0]  # [T, 2, H*W]
        spikes = events.reshape(args.num_steps, -1)
        groups = [("ON", n), ("OFF", n)]
        how = f"delta coding of a moving sensor (threshold {args.threshold:g})"
    fig = plot.raster(
        spikes,
        groups=groups,
        title=f"Class {label} (sample {args.sample}): {how}",
        neuron_label="pixel" if groups is None else "pixel (ON, then OFF)",
        stimulus=image,
    )
    path = plot.save(fig, args.out, dpi=args.dpi)
    print(
        f"{args.encoder}: {int(spikes.sum())} spikes from {spikes.shape[1]} inputs over "
        f"{args.num_steps} steps; wrote {path}"
    )
    return 0
