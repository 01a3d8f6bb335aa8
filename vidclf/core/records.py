"""The records every output consumes: one :class:`FrameResult` per frame, and a
:class:`SegmentEvent` whenever the shown label changes.

Usage::

    result.as_dict()      # the results row: frame, times, label, confidence, top-k, ms, wall_time
    event.as_dict()       # {"type": "segment_start", "source": ..., "id": "cam-3", "label": ..., ...}
"""

from __future__ import annotations

from dataclasses import dataclass, field
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
    frame: np.ndarray | None = field(default=None, repr=False)  # the frame as captured (never annotated)

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


@dataclass(slots=True)
class Segment:
    """A run of one shown label: ``<stream>-<n>`` is its id, stable for the run."""

    id: str
    label: str
    first_frame: int
    last_frame: int
    start_s: float  # on the stream's timeline (a file's own; since the start for live)
    end_s: float
    start_wall_time: float  # the first and last frame's capture on the wall clock (epoch seconds)
    end_wall_time: float

    @property
    def frames(self) -> int:
        return self.last_frame - self.first_frame + 1

    def as_dict(self) -> dict:
        """The segment as summaries write it (times rounded to ms, wall times ISO 8601 UTC)."""
        return {
            "label": self.label,
            "first_frame": self.first_frame,
            "last_frame": self.last_frame,
            "start_s": round(self.start_s, 3),
            "end_s": round(self.end_s, 3),
            "frames": self.frames,
            "id": self.id,
            "start_wall_time": iso_time(self.start_wall_time),
            "end_wall_time": iso_time(self.end_wall_time),
        }


class SegmentTracker:
    """Collapse a stream of (frame, time, label) into runs of the same label, ``<name>-1``,
    ``<name>-2``, ...

    >>> tracker = SegmentTracker("cam")
    >>> tracker.add(0, 0.0, "tennis", 1e9)[1].id
    'cam-1'
    """

    def __init__(self, name: str = "stream"):
        self.name = name
        self.segments: list[Segment] = []

    def add(self, frame: int, t: float, label: str, wall_time: float = 0.0) -> tuple[Segment | None, Segment | None]:
        """Extend the current segment, or end it and start another: returns (ended, started).

        A timeline that goes back (a ``--loop`` file starting again) also starts a segment,
        so that every segment is one stretch of the file, with ``start_s <= end_s``."""
        last = self.segments[-1] if self.segments else None
        if last is not None and last.label == label and t >= last.end_s:
            last.last_frame, last.end_s, last.end_wall_time = frame, t, wall_time
            return None, None
        started = Segment(f"{self.name}-{len(self.segments) + 1}", label, frame, frame, t, t, wall_time, wall_time)
        self.segments.append(started)
        return last, started

    def as_dicts(self) -> list[dict]:
        return [segment.as_dict() for segment in self.segments]


@dataclass(frozen=True, slots=True)
class SegmentEvent:
    """A label started being shown (``kind="start"``) or stopped (``"end"``, with its span).
    Times are on the stream's timeline: the file's own for files, since the start for live;
    wall times are the captures of the segment's first and last frame."""

    kind: EventKind
    source: str
    segment: Segment
    confidence: float | None = None  # at the start

    @property
    def id(self) -> str:
        return self.segment.id

    @property
    def label(self) -> str:
        return self.segment.label

    @property
    def start_s(self) -> float:
        return self.segment.start_s

    @property
    def first_frame(self) -> int:
        return self.segment.first_frame

    @property
    def end_s(self) -> float | None:
        return self.segment.end_s if self.kind is EventKind.END else None

    @property
    def last_frame(self) -> int | None:
        return self.segment.last_frame if self.kind is EventKind.END else None

    def as_dict(self) -> dict:
        """The event as webhooks and MQTT send it."""
        segment = self.segment.as_dict()
        fields = ["id", "label", "start_s", "first_frame", "start_wall_time"]
        if self.kind is EventKind.END:
            fields += ["end_s", "last_frame", "end_wall_time", "frames"]
        out = {"type": f"segment_{self.kind}", "source": self.source, **{k: segment[k] for k in fields}}
        if self.confidence is not None:
            out["confidence"] = round(self.confidence, 4)
        return out
