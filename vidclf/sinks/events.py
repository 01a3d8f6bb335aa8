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

from dataclasses import asdict, dataclass, field

import numpy as np


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

    def on_frame(self, result: FrameResult) -> None:  # noqa: B027  optional hook
        pass

    def on_segment(self, event: SegmentEvent) -> None:  # noqa: B027  optional hook
        pass

    def close(self) -> None:  # noqa: B027  optional hook
        pass
