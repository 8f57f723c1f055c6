"""The signal handlers of a run, in this process: the first SIGINT/SIGTERM asks to stop, a second
ends the process with one line naming the kept checkpoint, the evaluation's handler raises
KeyboardInterrupt, the previous handlers come back, and other threads install nothing."""

import signal
import threading

import pytest

from spikeflow.train import signals


def test_the_first_signal_requests_a_stop_and_handlers_are_restored():
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    calls = []
    with signals.stop_on_signals(lambda: calls.append("stop")):
        signal.raise_signal(signal.SIGTERM)
        assert calls == ["stop"]
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before


def test_a_second_signal_exits_130_naming_the_kept_checkpoint(monkeypatch, capsys):
    class Exited(Exception):
        pass

    def fake_exit(code):
        raise Exited(code)

    monkeypatch.setattr(signals.os, "_exit", fake_exit)
    calls = []
    with signals.stop_on_signals(lambda: calls.append("stop"), "runs/a/checkpoint.pt"):
        signal.raise_signal(signal.SIGINT)
        with pytest.raises(Exited) as done:
            signal.raise_signal(signal.SIGTERM)
    assert done.value.args == (signals.INTERRUPTED,) and calls == ["stop"]
    err = capsys.readouterr().err
    assert err.strip() == (
        "interrupted again: stopping now without a new checkpoint; the last checkpoint is kept: "
        "runs/a/checkpoint.pt"
    )


def test_interrupt_on_signals_raises_keyboard_interrupt():
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt), signals.interrupt_on_signals():
        signal.raise_signal(signal.SIGTERM)
    assert signal.getsignal(signal.SIGTERM) == before


def test_outside_the_main_thread_nothing_is_installed():
    seen = []

    def work():
        with signals.interrupt_on_signals():
            seen.append(signal.getsignal(signal.SIGTERM))

    before = signal.getsignal(signal.SIGTERM)
    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert seen == [before]
