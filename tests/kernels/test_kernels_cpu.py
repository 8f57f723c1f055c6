"""The numba CPU kernels equal the reference scan (spikes exactly, state and gradients closely)."""

from __future__ import annotations

import itertools

import pytest
import torch

import spikeflow as sf
from spikeflow import kernels
from spikeflow.functional import LIFParams, LIFState, SpikeParams, scan
from spikeflow.kernels import cpu
from spikeflow.kernels.function import rows
from spikeflow.surrogate import available, get

from ..variant_matrix import variant_matrix
from .kernel_cases import KINDS, RESETS, compare, drive, make_model, random_state

# model x refractory period x detached reset x learnable parameters (without them the backward
# skips the parameter gradients nobody asked for): one compiled variant each. The reset mode is a
# runtime value, so every combination runs all three.
CASES = variant_matrix(KINDS, (0, 2), (True, False), (True, False), each=RESETS)


@pytest.mark.parametrize(("kind", "refractory", "detach", "learn", "reset"), CASES)
def test_matches_reference_float32(kind, refractory, detach, learn, reset):
    model = make_model(
        kind, learn, reset=reset, refractory=refractory, detach_reset=detach, v_reset=0.1
    )
    x = drive((13, 3, 7)).requires_grad_()
    compare(kind, model, x, random_state(model, x[0]), "cpu")


@pytest.mark.parametrize(("kind", "reset"), list(itertools.product(KINDS, ("subtract", "zero"))))
def test_matches_reference_float64(kind, reset):
    model = make_model(kind, reset=reset, refractory=1, detach_reset=False, v_reset=-0.2).double()
    x = drive((11, 2, 5), torch.float64).requires_grad_()
    compare(kind, model, x, random_state(model, x[0]), "cpu")


@pytest.mark.parametrize("name", sorted(set(available()) - {"gaussian", "superspike"}))
def test_every_registered_surrogate(name):
    # the settings of tests/nn/test_gradients.py's training with each surrogate: one variant each
    model = make_model("lif", learn=False, surrogate=get(name, alpha=1.7))
    x = drive((9, 2, 6)).requires_grad_()
    compare("lif", model, x, random_state(model, x[0]), "cpu")


@pytest.mark.parametrize("shape", [(1, 4, 3), (1, 1, 1), (7, 1, 1), (5, 2, 3, 4, 4), (3, 300, 2)])
def test_shapes_including_single_step(shape):
    model = make_model("alif", refractory=1, detach_reset=False)
    x = drive(shape, seed=len(shape)).requires_grad_()
    compare("alif", model, x, random_state(model, x[0]), "cpu")


@pytest.mark.parametrize("t_len", [cpu.CHUNK, 2 * cpu.CHUNK, 3 * cpu.CHUNK + 1])
@pytest.mark.parametrize("kind", KINDS)
def test_chunk_boundaries(kind, t_len):
    """The backward recomputes one chunk of CHUNK steps at a time from the forward's checkpoints:
    whole chunks, several chunks and a partial last one, over several neuron blocks (M = 140)."""
    model = make_model(kind, refractory=1, detach_reset=False)
    x = drive((t_len, 2, 70), seed=t_len).requires_grad_()
    compare(kind, model, x, random_state(model, x[0]), "cpu")


@pytest.mark.parametrize("layout", ["transposed", "time_strided", "batch_expanded"])
def test_non_contiguous_input(layout):
    base = drive((12, 4, 6))
    if layout == "transposed":
        x = base.transpose(1, 2)  # [T, 6, 4] with neurons not contiguous
    elif layout == "time_strided":
        x = base[::2]
    else:
        x = base[:, :1].expand(12, 3, 6)
    assert not x.is_contiguous()
    x = x.detach().requires_grad_() if layout != "batch_expanded" else x
    model = make_model("synaptic", reset="zero")
    compare("synaptic", model, x, random_state(model, x[0]), "cpu")


def test_only_final_state_used_in_loss():
    model = make_model("lif")
    x = drive((8, 2, 3)).requires_grad_()
    _, state = model(x)
    (g,) = torch.autograd.grad(state.v.sum(), x)
    ref_model = make_model("lif", backend="reference")
    _, ref_state = ref_model(x)
    (want,) = torch.autograd.grad(ref_state.v.sum(), x)
    torch.testing.assert_close(g, want)


def test_golden_lif_trajectory():
    """beta 0.5, threshold 1, subtract: v = 1.5 (spike -> 0.5), 0.75, 1.125 (spike -> 0.125)."""
    lif = sf.nn.LIF(beta=0.5, backend="cpu")
    x = torch.tensor([1.5, 0.5, 0.75]).view(3, 1, 1)
    s, state = lif(x)
    assert s.flatten().tolist() == [1.0, 0.0, 1.0]
    assert state.v.item() == pytest.approx(0.125, abs=1e-7)


def test_golden_refractory_and_zero_reset():
    """Constant input 0.6, beta 1, threshold 1, zero reset, 2 refractory steps."""
    lif = sf.nn.LIF(beta=1.0, reset="zero", refractory=2, backend="cpu")
    s, state = lif(torch.full((8, 1, 1), 0.6))
    # v: 0.6, 1.2 spike -> 0, held, held, 0.6, 1.2 spike -> 0, held, held
    assert s.flatten().tolist() == [0, 1, 0, 0, 0, 1, 0, 0]
    assert state.v.item() == 0.0 and state.refrac.item() == 0.0


def test_module_uses_one_fused_node_and_continues_state():
    lif = sf.nn.LIF(beta=0.8, backend="cpu")
    x = drive((10, 2, 4)).requires_grad_()
    s, _ = lif(x)
    assert "FusedNeuron" in type(s.grad_fn).__name__
    s1, st1 = lif(x[:4])
    s2, _ = lif(x[4:], st1)
    assert torch.equal(torch.cat([s1, s2]), s)


def test_inference_saves_nothing_and_matches():
    lif = make_model("lif", learn=False)
    x = drive((6, 2, 5))
    with torch.no_grad():
        s, _ = lif(x)
    assert s.grad_fn is None
    ref, _ = make_model("lif", learn=False, backend="reference")(x)
    assert torch.equal(s, ref)


@pytest.mark.parametrize("refractory", [0, 2])
def test_saved_memory_is_the_input_and_checkpoints(refractory):
    """The input (a view, not a copy) and the state every CHUNK steps (the membrane, and the
    refractory counter when there is one): one float per neuron and CHUNK steps each, no flags."""
    t_len, batch, n = 20, 4, 50
    x = drive((t_len, batch, n)).requires_grad_()
    saved: list[torch.Tensor] = []

    def pack(t):
        saved.append(t)
        return t

    lif = make_model("lif", backend="cpu", refractory=refractory)
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        lif(x)
    floats = [t for t in saved if t.numel() == t_len * batch * n]
    assert len(floats) == 1 and floats[0].data_ptr() == x.data_ptr()  # the input itself
    assert not [t for t in saved if t.dtype == torch.uint8]
    checkpoints = -(-t_len // cpu.CHUNK)
    ckpt = [t for t in saved if t.shape == (checkpoints, batch * n)]
    assert len(ckpt) == (2 if refractory else 1) and all(t.dtype == x.dtype for t in ckpt)
    rest = [t for t in saved if all(t is not u for u in floats + ckpt)]
    # the initial membrane [B, N]; one-element tensors are saved by the module's parameter ops
    assert sum(t.numel() for t in rest if t.numel() > 1) <= batch * n


def test_rows_are_views_when_neurons_are_contiguous():
    base = torch.zeros(10, 3, 4)
    assert rows(base).data_ptr() == base.data_ptr()
    sliced = base[::2]
    assert rows(sliced).data_ptr() == sliced.data_ptr() and rows(sliced).stride(0) == 24
    assert rows(base.transpose(1, 2)).is_contiguous()
    expanded = torch.zeros(()).expand(5, 6)
    assert rows(expanded, broadcast_ok=True).stride() == (0, 0)


def test_functional_call_with_plain_params():
    spike = SpikeParams(torch.tensor(1.0), "subtract", torch.tensor(0.0), 0, get("triangle"), True)
    params = LIFParams(torch.tensor(0.7), spike)
    x = drive((5, 2, 3))
    state = LIFState(torch.zeros(2, 3), torch.zeros(2, 3))
    s, final = kernels.multi_step("lif", x, state, params, "cpu")
    ref_s, ref_final, _ = sf.functional.scan(sf.functional.lif_step, x, state, params)
    assert torch.equal(s, ref_s)
    torch.testing.assert_close(final.v, ref_final.v)
    assert final.refrac is state.refrac  # passed through untouched without refractory period


# a 1 MiB L2: 3/4 of it in float32. Fixed here with the thread count, so that the expected
# blocks do not depend on the machine running the test.
SCRATCH = 3 * (1 << 20) // 16


@pytest.mark.parametrize("threads", [1, 2, 3, 6, 16])
@pytest.mark.parametrize("m", [1, 63, 64, 1000, 65536, 100_003])
@pytest.mark.parametrize("rows", [1, cpu.CHUNK, 3 * cpu.CHUNK])
def test_blocks_cover_the_neurons_within_the_scratch(m, rows, threads, monkeypatch):
    """Blocks are multiples of 64 neurons, cover the layer, and their scratch fits the L2 budget
    (up to the rounding to 64), for any thread count."""
    monkeypatch.setattr(cpu, "_SCRATCH_FLOATS", SCRATCH)
    monkeypatch.setattr(cpu.numba, "get_num_threads", lambda: threads)
    block = cpu._block(m, rows)
    assert block % cpu.MIN_BLOCK == 0 and cpu.MIN_BLOCK <= block <= cpu.MAX_BLOCK
    assert (block - cpu.MIN_BLOCK) * rows < SCRATCH
    assert -(-m // block) * block >= m


# (m, rows, threads, block) worked by hand: cap = min(16384, SCRATCH // rows) neurons; n0 = the
# smallest multiple of threads >= max(ceil(m / cap), 2 threads); block = ceil(m / n0) rounded up
# to a multiple of 64
BLOCKS = [
    (1000, 1, 2, 256),  # n0 = 4, 250 -> 256: 4 blocks, 2 per thread
    (1000, 1, 6, 128),  # n0 = 12, 84 -> 128: 8 blocks, the rounding drops 4
    (1000, 1, 16, 64),  # n0 = 32, 32 -> 64: 16 blocks, one per thread
    (1, 8, 3, 64),  # n0 = 6, 1 -> 64
    (65536, 1, 3, 10944),  # ceil(65536 / 16384) = 4 < 6: n0 = 6, 10923 -> 10944
    (100_003, 1, 6, 8384),  # ceil(100003 / 16384) = 7 < 12: n0 = 12, 8334 -> 8384
    (100_003, 3 * cpu.CHUNK, 1, 7744),  # cap 8192: ceil = 13 = n0, 7693 -> 7744
    (100_003, 3 * cpu.CHUNK, 16, 3136),  # 13 < 32: n0 = 32, 3126 -> 3136
]


@pytest.mark.parametrize(("m", "rows", "threads", "block"), BLOCKS)
def test_block_sizes_worked_by_hand(m, rows, threads, block, monkeypatch):
    monkeypatch.setattr(cpu, "_SCRATCH_FLOATS", SCRATCH)
    monkeypatch.setattr(cpu.numba, "get_num_threads", lambda: threads)
    assert cpu._block(m, rows) == block


@pytest.mark.parametrize(
    "kind",
    [k if k in ("lif", "alif") else pytest.param(k, marks=pytest.mark.matrix) for k in KINDS],
)
def test_broadcast_gradient_of_a_sum(kind):
    """``spikes.sum()`` hands the backward a stride-0 gradient (one value per step for every
    neuron), which the kernel reads without expanding it; gradients equal the reference's."""
    x = drive((11, 3, 70), seed=3).requires_grad_()
    grads = []
    for backend in ("cpu", "reference"):
        model = make_model(kind, refractory=1, backend=backend)
        spikes, state = model(x)
        loss = spikes.sum() + state.v.sum()
        grads.append(torch.autograd.grad(loss, [x, *model.parameters()]))
    for got, want in zip(*grads, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("kind", KINDS)
def test_replayed_spikes_at_exactly_the_threshold(kind):
    """The backward replays each chunk instead of reading saved spike flags, so its spike decisions
    must be the forward's even where the membrane lands exactly on the threshold (``v - theta``
    is 0: a spike), including after a refractory period and across chunk boundaries."""
    t_len = 3 * cpu.CHUNK + 5
    # 0.25 and 0.5 add up exactly in binary: with beta = 1 (IF) v hits 1.0 exactly
    x = torch.tensor([0.25, 0.5, 0.125, 0.625]).repeat(t_len, 2, 1).requires_grad_()
    model = make_model(kind, refractory=1, detach_reset=False)
    if kind != "if":
        with torch.no_grad():
            model.beta.fill_(1.0)
    if kind == "synaptic":
        with torch.no_grad():
            model.alpha.fill_(0.0)  # i = x: the current is the input
    spikes = compare(kind, model, x, model.initial_state(x[0]), "cpu")
    assert spikes.sum() > 0


def test_state_that_broadcasts_over_the_batch():
    """A state of shape [N] broadcasts over the batch like in the reference scan."""
    model = make_model("lif", learn=False)
    x = drive((6, 3, 4))
    refrac = model.initial_state(x[0]).refrac
    shared = LIFState(v=torch.linspace(-0.5, 0.9, 4), refrac=refrac)
    full = LIFState(v=shared.v.expand(3, 4).clone(), refrac=refrac)
    s_shared, st_shared = kernels.multi_step("lif", x, shared, model.params(), "cpu")
    s_full, st_full = kernels.multi_step("lif", x, full, model.params(), "cpu")
    ref, _, _ = scan(type(model).step_fn, x, full, model.params())
    assert torch.equal(s_shared, s_full) and torch.equal(s_full, ref)
    assert torch.equal(st_shared.v, st_full.v)


def test_cache_sizes_are_read_or_defaulted(tmp_path, monkeypatch):
    """The scratch budget follows the L2 size Linux reports, the streaming threshold half the L3;
    an entry of another level or an unreadable one gives the default."""
    assert (256 << 10) <= 16 * cpu._SCRATCH_FLOATS // 3 <= (4 << 20)
    assert cpu._cache_bytes(3, 32 << 20) // 2 == cpu.STREAM_BYTES
    real_path = cpu.Path
    monkeypatch.setattr(cpu, "Path", lambda p: tmp_path / real_path(p).name)
    for index in ("index2", "index3"):
        (tmp_path / index).mkdir()
    for level, index, size, expected in [
        (2, "2", "2048K", 2 << 20),
        (2, "2", "1M", 1 << 20),
        (3, "3", "32M", 32 << 20),
        (3, "3", "1048576", 1 << 20),
        (2, "3", "32M", 7),  # index2 describes an L3
        (2, "2", "big", 7),
        (3, "3", "", 7),
    ]:
        (tmp_path / f"index{level}" / "level").write_text(index + "\n")
        (tmp_path / f"index{level}" / "size").write_text(size + "\n")
        assert cpu._cache_bytes(level, 7) == expected
    assert cpu._cache_bytes(4, 7) == 7  # no such entry


@pytest.mark.parametrize(
    ("kind", "dtype"),
    [
        (k, torch.float32)
        if k == "alif"
        else pytest.param(k, torch.float32, marks=pytest.mark.matrix)
        for k in KINDS
    ]
    + [("alif", torch.float64)],
)
def test_streamed_outputs_match_the_reference(kind, dtype, monkeypatch):
    """Outputs over ``STREAM_BYTES`` are written with aligned non-temporal stores: forced here on
    small layers whose rows are whole cache lines (M = 336: several blocks and a short last one),
    with the refractory period, un-detached reset and float64. The stores do not depend on the
    model: the default suite runs the one with the most state (``alif``), ``make test-matrix``
    every model."""
    monkeypatch.setattr(cpu, "STREAM_BYTES", 0)
    decided = []
    streams = cpu._streams
    monkeypatch.setattr(cpu, "_streams", lambda out: decided.append(streams(out)) or decided[-1])
    model = make_model(kind, refractory=1, detach_reset=False).to(dtype)
    x = drive((2 * cpu.CHUNK + 3, 3, 112), dtype, seed=5).requires_grad_()
    compare(kind, model, x, random_state(model, x[0]), "cpu")
    assert decided == [True, True]  # the spikes, then the input gradient


def test_streaming_needs_aligned_rows(monkeypatch):
    monkeypatch.setattr(cpu, "STREAM_BYTES", 0)
    base = torch.zeros(4, 80)
    assert base.data_ptr() % 64 == 0  # torch's allocator aligns to 64 bytes
    assert cpu._streams(base[:, 16:]) is True  # rows 320 bytes apart, each starting on a line
    assert cpu._streams(torch.zeros(4, 72)[:, :64]) is None  # rows 288 bytes apart
    assert cpu._streams(torch.zeros(4, 24)) is None  # rows 96 bytes apart
    assert cpu._streams(torch.zeros(4, 64)[:, 1:]) is None  # starts 4 bytes into a line
    monkeypatch.setattr(cpu, "STREAM_BYTES", 1 << 20)
    assert cpu._streams(torch.zeros(4, 64)) is None  # small enough to stay in cache
