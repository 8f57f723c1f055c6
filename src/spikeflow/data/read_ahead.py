"""Reading the files of a dataset folder with a few worker threads, in order, holding at most one
file's result per worker plus the one the caller is using.

A file is read in two parts: ``start(file)`` in the calling thread (open or map the file, check
its header, allocate the output: cheap, and allocating here lets the memory of one file's events
be reused for the next instead of faulting in fresh pages in every thread), which returns a job;
the job, run by a worker, does the heavy decoding (numba functions that release the GIL, so the
workers decode several files at once). Results come back in file order whatever order the
workers finish in.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from spikeflow.errors import UserError

Result = TypeVar("Result")
Start = Callable[[Path], Callable[[], Result]]

#: The most threads :func:`default_workers` suggests.
MAX_WORKERS = 4


def default_workers() -> int:
    """A thread count for a machine with idle cores: one per core the process may use, at most
    :data:`MAX_WORKERS`. (The readers default to one thread: on a busy machine, with no idle
    core, more threads read slower; see ``benchmarks/results/datasets.json``.)"""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(MAX_WORKERS, cores or 1))


def _begin(pool: ThreadPoolExecutor, start: Start, file: Path) -> Future:
    """The future of ``file``'s result; an error of ``start`` is kept in it, to be raised when
    the file's turn comes."""
    try:
        job = start(file)
    except Exception as err:  # re-raised in file order by Future.result()
        failed: Future = Future()
        failed.set_exception(err)
        return failed
    return pool.submit(job)


def read_ahead(
    start: Start, files: Sequence[Path], workers: int = 1
) -> Iterator[tuple[Path, Result]]:
    """``(file, start(file)())`` for every file, in order, the jobs run by ``workers`` threads.

    At most ``workers`` files are being read (or waiting to be taken) while the caller holds the
    previous result: memory stays within ``workers + 1`` files' results. An error, of ``start``
    or of the job, is raised when its file's turn comes; closing the iterator early cancels the
    jobs not yet begun and waits for those running.

    Arguments:
        start: ``start(file)`` checks a file and returns the job that reads it (run in a worker;
            it should release the GIL for most of its work, else the threads gain nothing).
        files: the files, in the order wanted.
        workers: threads reading ahead (e.g. :func:`default_workers`); 1 (the default) reads
            each file in the calling thread when its turn comes (no thread).

    Returns:
        An iterator of ``(file, result)``.
    """
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise UserError(f"workers={workers!r}; expected a whole number >= 1")
    if workers == 1:
        for f in files:
            yield f, start(f)()
        return
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="spikeflow-read")
    pending: deque[tuple[Path, Future]] = deque()
    try:
        todo = iter(files)
        for f in todo:
            pending.append((f, _begin(pool, start, f)))
            if len(pending) == workers:
                break
        while pending:
            f, future = pending.popleft()
            result = future.result()
            del future
            nxt = next(todo, None)
            if nxt is not None:
                pending.append((nxt, _begin(pool, start, nxt)))
            yield f, result
            del result
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
