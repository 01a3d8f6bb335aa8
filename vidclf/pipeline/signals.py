"""Termination signals become one stop event, so that whatever ends a run, everything is finalised.

Every catchable termination signal (SIGINT, SIGTERM, SIGHUP, ...) sets the run's stop event
instead of killing the process, so the recording and results files are always closed properly.
During start-up (loading the model, opening the sources) nothing needs finalising yet and a
native call may block for seconds, so the handler also raises :class:`StartupInterrupted`.

Usage::

    with SignalStop(stop) as signals:
        try:
            load_and_open()
        except StartupInterrupted:
            ...                      # signals.received says which signal
        signals.raising = False      # from here on a signal only sets ``stop``
        run()
"""

from __future__ import annotations

import signal
import threading


def termination_signals() -> list[signal.Signals]:
    """Every signal whose default action ends the process and that a program may catch:
    each must finalise the run like SIGTERM (a closed terminal sends SIGHUP)."""
    names = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGALRM", "SIGVTALRM", "SIGPROF", "SIGXCPU")
    return [getattr(signal, name) for name in names if hasattr(signal, name)]


class StartupInterrupted(Exception):
    """A termination signal arrived while the run was still starting."""


class SignalStop:
    """Turn termination signals into setting ``stop`` (handlers restored on exit; only on the
    main thread, where Python delivers signals)."""

    def __init__(self, stop: threading.Event):
        self.stop = stop
        self.received: str | None = None
        self.raising = True
        self._previous: dict[int, object] = {}

    def _handler(self, signum, _frame) -> None:
        self.received = self.received or signal.Signals(signum).name
        self.stop.set()
        if self.raising:
            raise StartupInterrupted(self.received)

    def __enter__(self) -> SignalStop:
        if threading.current_thread() is threading.main_thread():
            for sig in termination_signals():
                try:
                    self._previous[sig] = signal.signal(sig, self._handler)
                except (OSError, ValueError):  # not catchable on this platform
                    pass
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
