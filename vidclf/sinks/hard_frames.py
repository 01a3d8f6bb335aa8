"""Keep the frames the model is unsure about, to label and train on (``--save-uncertain DIR``).

A classified frame is kept when the label shown is ``uncertain`` or the raw top-1 differs
from it (the smoothing or a threshold overruled the model): the frames a better model must
learn. At most ``per_minute`` a minute per stream (of stream time), and not when it looks
like the last frame kept (the same 32x18 grey-copy measure as change gating), so a long
doubtful scene gives a handful of different frames, not thousands of copies. Each frame is
the picture as captured (no overlay), as a JPEG, with a JSON sidecar: stream, source, frame,
times (stream and wall clock), the label shown, its confidence and the raw top-k.

Sort the JPEGs into class folders (``DIR/<class>/``) and ``vidclf train --extra-data DIR``
trains on them.

Usage::

    sink = HardFrameSink("runs/hard", stream="court1", source="rtsp://cam/1", per_minute=6)
"""

from __future__ import annotations

import collections
import json
from pathlib import Path

import cv2
import numpy as np

from vidclf.core.records import FrameResult, iso_time
from vidclf.errors import VidclfError
from vidclf.runtime.preprocess import grey_thumbnail, picture_change
from vidclf.sinks.events import Sink

UNCERTAIN = "uncertain"  # vidclf.streaming.decoding.UNCERTAIN (the label shown below the threshold)
NEAR_DUPLICATE = 0.04  # mean grey-level change (share of 0-255) below which a frame is a copy of the last kept
JPEG_QUALITY = 92


def check_folder(folder: str | Path) -> Path:
    """The folder hard frames go to, made if need be; one error line when it cannot be."""
    path = Path(folder)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise VidclfError(f"output.save_uncertain: cannot use {path} as a folder: {exc.strerror or exc}") from None
    return path


class HardFrameSink(Sink):
    output_name = "hard frames"

    def __init__(self, folder: str | Path, stream: str, source: str, per_minute: int = 6):
        self.folder = check_folder(folder)
        self.stream, self.source, self.per_minute = stream, source, per_minute
        self.saved = 0
        self._kept_at: collections.deque[float] = collections.deque()
        self._last: np.ndarray | None = None

    @staticmethod
    def doubtful(result: FrameResult) -> bool:
        """Classified, and shown as uncertain or as another label than the model's top-1."""
        if not result.classified or not result.top_k:
            return False
        return result.label == UNCERTAIN or result.label != result.top_k[0][0]

    def on_frame(self, result: FrameResult) -> None:
        if result.frame is None or not self.doubtful(result):
            return
        t = result.time_s if result.position_s is None else result.position_s
        while self._kept_at and (t - self._kept_at[0] >= 60.0 or t < self._kept_at[0]):
            self._kept_at.popleft()  # older than a minute (or a loop went back)
        if len(self._kept_at) >= self.per_minute:
            return
        copy = grey_thumbnail(result.frame)
        if self._last is not None and picture_change(copy, self._last) < NEAR_DUPLICATE:
            return
        stem = self.folder / f"{self.stream}_{result.frame_index:07d}"
        if not cv2.imwrite(str(stem.with_suffix(".jpg")), result.frame, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]):
            raise OSError(f"cannot write {stem.with_suffix('.jpg')}")
        sidecar = {
            "stream": self.stream,
            "source": self.source,
            "frame": result.frame_index,
            "time_s": round(result.time_s, 3),
            "position_s": None if result.position_s is None else round(result.position_s, 3),
            "wall_time": iso_time(result.wall_time),
            "label": result.label,
            "confidence": round(result.confidence, 4),
            "top_k": [[name, round(p, 4)] for name, p in result.top_k],
        }
        stem.with_suffix(".json").write_text(json.dumps(sidecar, indent=1) + "\n")
        self._kept_at.append(t)
        self._last = copy
        self.saved += 1
