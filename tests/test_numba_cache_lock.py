"""The cache lock of ``spikeflow._numba_cache.njit`` in this process (the cross-process tests
run subprocesses, which coverage does not see): held across a block, re-entrant, released;
without a usable lock file only the compiler lock; NUMBA_DISABLE_JIT leaves the plain function."""

import os

import numba

from spikeflow import _numba_cache


def _add(a, b):
    return a + b


def test_exclusive_holds_the_lock_file_re_entrantly_and_releases_it(tmp_path):
    cache = _numba_cache.njit()(_add)._cache
    cache._lock_path = str(tmp_path / "add.lock")
    with cache.exclusive():
        assert cache._held and os.path.exists(cache._lock_path)
        with cache.exclusive():  # a compile inside a compile (an inlined callee)
            assert cache._held
        assert cache._held
    assert not cache._held


def test_without_a_usable_lock_file_only_the_compiler_lock_is_taken(tmp_path):
    cache = _numba_cache.njit()(_add)._cache
    cache._lock_path = str(tmp_path / "no such dir" / "add.lock")
    with cache.exclusive():
        assert not cache._held


def test_without_fcntl_only_the_compiler_lock_is_taken(monkeypatch):
    cache = _numba_cache.njit()(_add)._cache
    monkeypatch.setattr(_numba_cache, "fcntl", None)
    with cache.exclusive():
        assert not cache._held


def test_disabled_jit_returns_the_plain_function(monkeypatch):
    monkeypatch.setattr(numba.config, "DISABLE_JIT", True)
    plain = _numba_cache.njit(cache=True)(_add)
    assert not isinstance(plain, numba.core.dispatcher.Dispatcher)
    assert plain(2, 3) == 5
