"""The memory this process may take: /proc/meminfo's MemAvailable, else the physical memory when
that file cannot be read or has no such line; check_fits names what needs more."""

import builtins
import io
import os

import pytest

from spikeflow import memory
from spikeflow.errors import UserError

PHYSICAL = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def _meminfo(monkeypatch, text: str | None) -> None:
    real_open = builtins.open

    def fake_open(path, *args, **kwargs):
        if path != "/proc/meminfo":
            return real_open(path, *args, **kwargs)
        if text is None:
            raise FileNotFoundError(path)
        return io.StringIO(text)

    monkeypatch.setattr(builtins, "open", fake_open)


def test_mem_available_is_read_in_kib(monkeypatch):
    _meminfo(monkeypatch, "MemTotal: 9000 kB\nMemAvailable:    2048 kB\n")
    assert memory.available_bytes() == 2048 * 1024


@pytest.mark.parametrize("text", [None, "MemTotal: 9000 kB\n"])
def test_without_mem_available_the_physical_memory_counts(monkeypatch, text):
    _meminfo(monkeypatch, text)
    assert memory.available_bytes() == PHYSICAL


def test_check_fits_names_the_need_and_what_is_available():
    memory.check_fits("the synapses", 1.0 * memory.GIB, available=2 * memory.GIB)
    with pytest.raises(UserError) as err:
        memory.check_fits("--neurons 10^9 neurons", 3.0 * memory.GIB, available=2 * memory.GIB)
    assert str(err.value).startswith("--neurons 10^9 neurons need about 3.0 GiB, but this machine")
    assert "has 2.0 GiB of memory available" in str(err.value)
