"""The small typed messages that flow one way through the pipeline.

``grabber -> Frame -> predictor -> Prediction -> renderer``. A :class:`StreamReset` travels
the same path when a live source reconnects, so every later stage can drop state that
belongs to the old stream (the smoothing window, above all), and :data:`END_OF_STREAM`
tells each stage that nothing more will come.

Usage::

    frame = Frame(index=0, image=bgr, captured_at=time.monotonic())
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded image; ``captured_at`` is ``time.monotonic()`` right after the read returned;
    ``position_s`` is the frame's time in a video file (None for live sources)."""

    index: int
    image: np.ndarray
    captured_at: float
    position_s: float | None = None


@dataclass(frozen=True, slots=True)
class Prediction:
    """A frame with its raw and smoothed class probabilities, the label shown for it (a
    class name or ``"uncertain"``, see :mod:`vidclf.streaming.decoding`) and how long inference took."""

    frame: Frame
    probs: np.ndarray
    smoothed: np.ndarray
    label: str
    confidence: float  # smoothed probability of the label (of the top class when uncertain)
    infer_ms: float  # this frame's share of the model call
    predicted_at: float
    scene_cut: bool = False  # this frame starts a new shot: the smoothing window restarted here
    # False: the model did not see this frame (classify_fps, or a live backlog): it carries
    # the latest classified frame's probabilities and label
    classified: bool = True


@dataclass(frozen=True, slots=True)
class StreamReset:
    """The live source reconnected: state built from earlier frames no longer applies."""

    reconnects: int
    reason: str = field(default="")


class _EndOfStream:
    __slots__ = ()

    def __repr__(self) -> str:
        return "END_OF_STREAM"


END_OF_STREAM = _EndOfStream()
