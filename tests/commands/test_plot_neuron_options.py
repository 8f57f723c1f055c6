"""``spikeflow plot neuron``: the options of one model change its response as they should."""

from __future__ import annotations

import math
import re

from spikeflow.cli import main


def _spikes(tmp_path, capsys, *args: str) -> int:
    out = tmp_path / "n.png"
    argv = ["plot", "neuron", "--num-steps", "100", "--dpi", "20", "--out", str(out), *args]
    assert main(argv) == 0
    assert out.stat().st_size > 0
    return int(re.search(r"(\d+) spikes", capsys.readouterr().out).group(1))


def test_synaptic_alpha_is_the_decay_that_tau_syn_gives(tmp_path, capsys):
    base = ("--model", "synaptic", "--current", "3")
    by_tau = _spikes(tmp_path, capsys, *base, "--tau-syn", "2")
    by_alpha = _spikes(tmp_path, capsys, *base, "--alpha", f"{math.exp(-1 / 2):.12f}")
    assert by_tau == by_alpha > 0


def test_alif_adaptation_options_slow_the_neuron(tmp_path, capsys):
    base = ("--model", "alif", "--current", "3")
    free = _spikes(tmp_path, capsys, *base, "--beta-a", "0")
    adapted = _spikes(tmp_path, capsys, *base, "--beta-a", "1")
    forgotten = _spikes(tmp_path, capsys, *base, "--beta-a", "1", "--tau-adapt", "1")
    assert free > adapted > 0 and forgotten > adapted


def test_reset_none_keeps_firing_where_reset_zero_starts_again(tmp_path, capsys):
    base = ("--current", "3", "--refractory", "0")
    zero = _spikes(tmp_path, capsys, *base, "--reset", "zero")
    none = _spikes(tmp_path, capsys, *base, "--reset", "none")
    assert 0 < zero < none


def test_gain_scales_the_input_and_threshold_sets_the_firing_level(tmp_path, capsys):
    default = _spikes(tmp_path, capsys, "--current", "1.5")
    quiet = _spikes(tmp_path, capsys, "--current", "1.5", "--gain", "0.01")
    eager = _spikes(tmp_path, capsys, "--current", "1.5", "--threshold", "0.5")
    assert quiet == 0 < default < eager


def test_beta_tau_and_dt_give_one_decay_and_onset_delays_the_current(tmp_path, capsys):
    by_tau = _spikes(tmp_path, capsys, "--tau", "20")
    by_beta = _spikes(tmp_path, capsys, "--beta", f"{math.exp(-1 / 20):.12f}")
    by_dt = _spikes(tmp_path, capsys, "--dt", "0.5", "--tau", "10")  # the same dt / tau
    late = _spikes(tmp_path, capsys, "--onset", "60")
    assert by_tau == by_beta == by_dt > late > 0


def test_izhikevich_presets_fire_differently(tmp_path, capsys):
    base = ("--model", "izhikevich")
    regular = _spikes(tmp_path, capsys, *base, "--preset", "regular_spiking")
    chattering = _spikes(tmp_path, capsys, *base, "--preset", "chattering")
    assert chattering != regular and min(regular, chattering) > 0
