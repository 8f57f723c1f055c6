"""read_ahead: results in file order from worker threads, at most ``workers`` files ahead of the
caller, errors raised at their file's turn, and no thread left behind."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from spikeflow.data.read_ahead import default_workers, read_ahead
from spikeflow.errors import UserError

FILES = [Path(f"f{i:02d}") for i in range(12)]


def _index(f: Path) -> int:
    return int(f.name[1:])


def _slow_first(f: Path):
    """Earlier files take longer, so the workers finish out of order."""

    def job():
        time.sleep(0.002 * (len(FILES) - _index(f)))
        return _index(f) * 10

    return job


@pytest.mark.parametrize("workers", [1, 2, 3, 5])
def test_results_come_back_in_file_order(workers):
    got = list(read_ahead(_slow_first, FILES, workers))
    assert got == [(f, _index(f) * 10) for f in FILES]


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_at_most_workers_files_ahead_of_the_caller(workers):
    started = []
    ahead = []
    for k, (f, _) in enumerate(read_ahead(lambda f: (started.append(f), lambda: f)[1], FILES,
                                          workers)):  # fmt: skip
        assert f == FILES[k]
        ahead.append(len(started) - (k + 1))  # files begun beyond the one the caller holds
    assert max(ahead) == (workers if workers > 1 else 0)


def test_jobs_run_at_the_same_time_in_workers_start_in_the_caller():
    barrier = threading.Barrier(2, timeout=30)  # two jobs must be running at once to pass it
    caller = threading.get_ident()
    starts, jobs = set(), set()

    def start(f):
        starts.add(threading.get_ident())

        def job():
            jobs.add(threading.get_ident())
            barrier.wait()
            return f

        return job

    assert [f for f, _ in read_ahead(start, FILES[:2], 2)] == FILES[:2]
    assert starts == {caller}
    assert caller not in jobs and len(jobs) == 2


@pytest.mark.parametrize("workers", [1, 2, 4])
@pytest.mark.parametrize("where", ["start", "job"])
def test_an_error_is_raised_at_its_files_turn(workers, where):
    def start(f):
        if where == "start" and _index(f) == 3:
            raise UserError(f"{f}: broken")

        def job():
            if where == "job" and _index(f) == 3:
                raise UserError(f"{f}: broken")
            return _index(f)

        return job

    got = []
    with pytest.raises(UserError, match="f03: broken"):
        for _, value in read_ahead(start, FILES, workers):
            got.append(value)
    assert got == [0, 1, 2]


def test_closing_early_stops_reading_and_leaves_no_thread():
    started = []
    reader = read_ahead(lambda f: (started.append(f), lambda: f)[1], FILES, 3)
    assert [next(reader)[0] for _ in range(2)] == FILES[:2]
    reader.close()
    assert len(started) <= 2 + 3
    assert not [t for t in threading.enumerate() if t.name.startswith("spikeflow-read")]


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_bad_workers_named(bad):
    with pytest.raises(UserError, match=rf"workers={bad!r}; expected a whole number >= 1"):
        list(read_ahead(lambda f: lambda: f, FILES, bad))


@pytest.mark.parametrize(("cores", "workers"), [(1, 1), (2, 2), (3, 3), (16, 4)])
def test_default_workers_one_per_core_at_most_four(monkeypatch, cores, workers):
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: set(range(cores)), raising=False)
    monkeypatch.setattr("os.cpu_count", lambda: cores)
    assert default_workers() == workers
