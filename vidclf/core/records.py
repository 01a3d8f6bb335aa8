"""The records every output consumes: one :class:`FrameResult` per frame, and a
:class:`SegmentEvent` whenever the shown label changes.

Usage::

    result.as_dict()      # the results row: frame, times, label, confidence, top-k, ms, wall_time
    event.as_dict()       # {"type": "segment_start", "source": ..., "label": ..., ...}
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone

import numpy as np

from vidclf.core.states import EventKind


def iso_time(epoch_s: float) -> str:
    """``1796615336.98`` -> ``'2026-12-07T03:48:56.980Z'`` (UTC, milliseconds)."""
    return datetime.fromtimestamp(epoch_s, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class FrameResult:
    """The one record of a frame, built once by the renderer: the results row, every output
    and the Python API all take it. ``label``/``confidence`` are what is shown (smoothed,
    possibly ``"uncertain"``); ``top_k`` is the raw prediction; ``image`` the BGR frame,
    annotated when a window, a recording or a sink that wants the image is there."""

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
    classified: bool = True  # False: the label was carried from the last classified frame (classify_fps, backlog)
    wall_time: float = 0.0  # capture time on the wall clock (seconds since the epoch)

    #: the results row's fields, in order (a CSV's columns)
    ROW_FIELDS = (
        "frame", "time_s", "position_s", "label", "confidence", "top_k", "infer_ms", "latency_ms", "classified", "wall_time",
    )  # fmt: skip

    def as_dict(self) -> dict:
        """The results row: JSON-ready fields (the image left out), rounded for people."""
        return {
            "frame": self.frame_index,
            "time_s": round(self.time_s, 4),
            "position_s": None if self.position_s is None else round(self.position_s, 4),
            "label": self.label,
            "confidence": round(self.confidence, 4),
            "top_k": [[name, round(p, 4)] for name, p in self.top_k],
            "infer_ms": round(self.infer_ms, 3),
            "latency_ms": round(self.latency_ms, 3),
            "classified": self.classified,
            "wall_time": iso_time(self.wall_time),
        }


@dataclass(frozen=True, slots=True)
class SegmentEvent:
    """A label started being shown (``kind="start"``) or stopped (``"end"``, with its span).
    Times are on the stream's timeline: the file's own for files, since the start for live."""

    kind: EventKind
    source: str
    label: str
    start_s: float
    first_frame: int
    end_s: float | None = None
    last_frame: int | None = None
    confidence: float | None = None  # at the start

    def as_dict(self) -> dict:
        return {"type": f"segment_{self.kind}", **{k: v for k, v in asdict(self).items() if k != "kind" and v is not None}}
