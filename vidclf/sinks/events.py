"""What the renderer hands to event sinks: one :class:`FrameResult` per frame and a
:class:`SegmentEvent` whenever the shown label changes.

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
from dataclasses import asdict, dataclass, field

import numpy as np

from vidclf.errors import VidclfError
from vidclf.redact import redact

log = logging.getLogger("vidclf")


@dataclass(frozen=True, slots=True)
class FrameResult:
    """One classified frame. ``label``/``confidence`` are what is shown (smoothed, possibly
    ``"uncertain"``); ``top_k`` is the raw prediction; ``image`` the BGR frame, annotated
    when a window, a recording or a sink that :attr:`Sink.wants_image` is there."""

    frame_index: int
    time_s: float  # capture time since the run started
    position_s: float | None  # time in the video file (None for live sources)
    label: str
    confidence: float
    top_k: list[tuple[str, float]]
    infer_ms: float
    latency_ms: float
    image: np.ndarray = field(repr=False)
    scene_cut: bool = False

    def as_dict(self) -> dict:
        """JSON-ready fields (the image left out)."""
        return {
            "frame": self.frame_index,
            "time_s": round(self.time_s, 4),
            "position_s": None if self.position_s is None else round(self.position_s, 4),
            "label": self.label,
            "confidence": round(self.confidence, 4),
            "top_k": [[name, round(p, 4)] for name, p in self.top_k],
        }


@dataclass(frozen=True, slots=True)
class SegmentEvent:
    """A label started being shown (``kind="start"``) or stopped (``"end"``, with its span).
    Times are on the stream's timeline: the file's own for files, since the start for live."""

    kind: str  # "start" | "end"
    source: str
    label: str
    start_s: float
    first_frame: int
    end_s: float | None = None
    last_frame: int | None = None
    confidence: float | None = None  # at the start

    def as_dict(self) -> dict:
        return {"type": f"segment_{self.kind}", **{k: v for k, v in asdict(self).items() if k != "kind" and v is not None}}


class Sink:
    """Base class: override what you need. Called on the renderer's thread; never block.

    ``wants_image``: this sink uses :attr:`FrameResult.image`, the annotated frame. When no sink
    (and no window or recording) does, the overlay is not drawn and ``image`` is the bare frame.
    """

    wants_image = False
    #: what warnings and the summary call this output ("MQTT", "webhook")
    title = "output"
    #: a failure ends the run and reaches the caller (after every output is finalised): the
    #: Python API's callbacks. Any other sink's failure is counted and the run goes on.
    errors_end_run = False

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
        except VidclfError:
            raise
        except Exception as exc:
            if sink.errors_end_run:
                raise
            self.count(sink.title, exc)

    def count(self, title: str, exc: BaseException) -> None:
        """Record one failure of the output ``title``."""
        n = self.failures[title] = self.failures.get(title, 0) + 1
        text = redact(f"{type(exc).__name__}: {exc}")[:300]
        self.first_failure.setdefault(title, text)
        if n == 1 or n % self.LOG_EVERY == 0:
            log.warning("%s output failed (%s); %d failure(s) so far, the run goes on", title, text, n)

    def describe(self) -> list[str]:
        """One line per output that failed, for the summary."""
        return [f"{title} failed {n} time(s), first: {self.first_failure[title]}" for title, n in self.failures.items()]
