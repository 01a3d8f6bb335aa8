"""Outputs as a table of sinks: each gets one :class:`~vidclf.core.records.FrameResult` per
frame and a :class:`~vidclf.core.records.SegmentEvent` whenever the shown label changes, and
:class:`SinkGuard` calls them so that no output can take the run down.

A sink is anything with the three methods of :class:`Sink` (webhook, MQTT, subtitles,
the browser view, the Python API's iterator). The renderer calls them on its own thread, so
a sink must never block: sinks that talk to the network hand events to a thread of their own
through a bounded queue.

Usage::

    class PrintChanges(Sink):
        def on_segment(self, event: SegmentEvent) -> None:
            print(event.kind, event.label, event.start_s)
"""

from __future__ import annotations

import logging

from vidclf.core.records import FrameResult, SegmentEvent
from vidclf.errors import ReaderGone, VidclfError
from vidclf.redact import redact

log = logging.getLogger("vidclf")


class Sink:
    """Base class: override what you need. Called on the renderer's thread; never block.

    ``wants_image``: this sink uses :attr:`FrameResult.image`, the annotated frame. When no sink
    (and no window or recording) does, the overlay is not drawn and ``image`` is the bare frame.
    """

    wants_image = False
    #: what warnings and the summary call this output ("MQTT", "webhook")
    output_name = "output"
    #: a failure ends the run and reaches the caller (after every output is finalised): the
    #: Python API's callbacks. Any other sink's failure is counted and the run goes on.
    errors_end_run = False

    def on_start(self, live: bool) -> None:  # noqa: B027  optional hook
        """Called once before the first frame; ``live``: frames come from a live source (or a
        file paced in real time), so a slow consumer should drop the oldest rather than wait.
        The pipeline decides this in one place for every output."""

    def on_frame(self, result: FrameResult) -> None:  # noqa: B027  optional hook
        pass

    def on_segment(self, event: SegmentEvent) -> None:  # noqa: B027  optional hook
        pass

    def close(self) -> None:  # noqa: B027  optional hook
        pass


class SinkGuard:
    """Calls sinks so that no output can take the run down.

    A sink that raises is counted and logged (the first failure, then every
    ``LOG_EVERY``-th, redacted) and keeps its turn: a broker or receiver that comes back
    gets the next events. Two kinds of failure still end the run, after every output is
    finalised by the caller: a :class:`VidclfError` (an output that cannot be written: one
    clean error line) and any exception of a sink that :attr:`Sink.errors_end_run`.

    Usage::

        guard = SinkGuard()
        guard.call(sink, sink.on_frame, result)
        guard.failures      # {"MQTT": 3}
    """

    LOG_EVERY = 100

    def __init__(self) -> None:
        self.failures: dict[str, int] = {}
        self.first_failure: dict[str, str] = {}

    def call(self, sink: Sink, method, *args) -> None:
        try:
            method(*args)
        except (VidclfError, ReaderGone):
            raise
        except Exception as exc:
            if sink.errors_end_run:
                raise
            self.count(sink.output_name, exc)

    def count(self, name: str, exc: BaseException) -> None:
        """Record one failure of the output ``name``."""
        n = self.failures[name] = self.failures.get(name, 0) + 1
        text = redact(f"{type(exc).__name__}: {exc}")[:300]
        self.first_failure.setdefault(name, text)
        if n == 1 or n % self.LOG_EVERY == 0:
            log.warning("%s output failed (%s); %d failure(s) so far, the run goes on", name, text, n)

    def describe(self) -> list[str]:
        """One line per output that failed, for the summary."""
        return [f"{name} failed {n} time(s), first: {self.first_failure[name]}" for name, n in self.failures.items()]
