"""The CPU kernels' buffer pool: freed buffers are reused, never while in use, within the limit."""

import gc
import threading

import pytest
import torch

from spikeflow.kernels import buffers

BIG = (256, 1024)  # 1 MiB in float32: pooled
BIG_BYTES = 256 * 1024 * 4 + buffers.ALIGN  # kept with the slack that aligns it


@pytest.fixture(autouse=True)
def _fresh_pool():
    limit = buffers.limit()
    buffers.release()
    yield
    buffers.set_limit(limit)
    buffers.release()


def test_a_freed_buffer_is_reused():
    t = buffers.empty(BIG, torch.float32)
    ptr = t.data_ptr()
    del t
    gc.collect()
    assert buffers.kept_bytes() == BIG_BYTES
    again = buffers.empty(BIG, torch.float32)
    assert again.data_ptr() == ptr and buffers.kept_bytes() == 0


def test_a_buffer_in_use_is_never_handed_out_again():
    """While any view of the tensor lives (here a reshape of it), its memory stays its own."""
    t = buffers.empty(BIG, torch.float32)
    view = t.view(-1)[10:]
    ptr = t.data_ptr()
    del t
    gc.collect()
    assert buffers.kept_bytes() == 0
    other = buffers.empty(BIG, torch.float32)
    assert other.data_ptr() != ptr
    view.fill_(1.0)
    other.fill_(2.0)
    assert bool((view == 1.0).all())


def test_only_a_buffer_of_the_same_size_is_reused():
    t = buffers.empty(BIG, torch.float32)
    del t
    other = buffers.empty((BIG[0] + 1, BIG[1]), torch.float32)
    assert buffers.kept_bytes() == BIG_BYTES  # the kept one was not the right size
    assert other.shape == (BIG[0] + 1, BIG[1])


def test_small_buffers_are_not_pooled():
    t = buffers.empty((4, 4), torch.float64)
    assert t.data_ptr() % 64 == 0
    del t
    assert buffers.kept_bytes() == 0


def test_the_limit_drops_the_oldest_first():
    buffers.set_limit(2 * BIG_BYTES)
    a = buffers.empty(BIG, torch.float32)
    b = buffers.empty(BIG, torch.float32)
    c = buffers.empty(BIG, torch.float32)
    ptr_b, ptr_c = b.data_ptr(), c.data_ptr()
    del a, b, c  # freed in this order: a is the oldest
    assert buffers.kept_bytes() == 2 * BIG_BYTES
    newest, older = buffers.empty(BIG, torch.float32), buffers.empty(BIG, torch.float32)
    assert (newest.data_ptr(), older.data_ptr()) == (ptr_c, ptr_b)


def test_set_limit_zero_keeps_nothing_and_release_empties():
    t = buffers.empty(BIG, torch.float32)
    del t
    assert buffers.kept_bytes() == BIG_BYTES
    buffers.release()
    assert buffers.kept_bytes() == 0
    buffers.set_limit(0)
    t = buffers.empty(BIG, torch.float32)
    del t
    assert buffers.kept_bytes() == 0


@pytest.mark.parametrize("bad", [-1, 1.5, True, "1"])
def test_set_limit_rejects_bad_values(bad):
    with pytest.raises(ValueError, match="nbytes must be an int >= 0"):
        buffers.set_limit(bad)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_tensors_are_ordinary_cpu_tensors(dtype):
    t = buffers.empty(BIG, dtype)
    assert t.dtype == dtype and t.shape == BIG and t.is_contiguous() and t.device.type == "cpu"
    assert t.data_ptr() % 64 == 0
    t.copy_(torch.arange(t.numel(), dtype=dtype).view(BIG))
    assert float(t[-1, -1]) == t.numel() - 1
    assert (t * 2).sum() == 2 * t.sum()


def test_threads_share_the_pool_safely():
    errors = []

    def work():
        try:
            for i in range(200):
                t = buffers.empty((BIG[0] + i % 3, BIG[1]), torch.float32)
                t[0, 0] = 1.0
                del t
        except Exception as e:  # collected and asserted below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    kept = sum(raw.nbytes for raw, _ in buffers._POOL.kept.values())
    assert buffers.kept_bytes() == kept <= buffers.limit()
