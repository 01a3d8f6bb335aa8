"""Change gating: the model sees a frame only when the picture has changed since the last
frame it saw (``model.classify_on_change``).

Most live cameras show one scene for minutes and a broadcast holds a shot for seconds; a
picture the model has already classified gives the same answer again. :class:`ChangeGate`
keeps a tiny grey copy (32x18) of the last classified frame and lets a frame through when the
mean absolute difference of its own copy is at least ``threshold`` (a share of the 0-255
range), when ``max_interval_s`` of stream time have passed (slow drifts, lighting), or when
there is no reference yet. A hard cut changes the copy a lot, so a new shot is always
classified. The copy is taken from every 4th-or-so pixel before an area shrink, so it costs
about 0.05 ms a frame at any size (measured, 2-core CPU) (``bench/bench_change_gate.py``). Frames held
back carry the latest label (``classified: false`` in the results), as ``classify_fps`` does.

Usage::

    gate = ChangeGate(threshold=0.02, max_interval_s=1.0)
    if gate.wanted(frame.image, t):
        ...                       # classify it
        gate.remember(frame.image, t)
"""

from __future__ import annotations

import numpy as np

from vidclf.runtime.preprocess import grey_thumbnail, picture_change


class ChangeGate:
    def __init__(self, threshold: float = 0.02, max_interval_s: float = 1.0):
        self.threshold, self.max_interval_s = threshold, max_interval_s
        self.last_change = 0.0  # the change measured for the last frame asked about (0-1)
        self._reference: np.ndarray | None = None
        self._reference_t = 0.0

    def wanted(self, bgr: np.ndarray, t: float) -> bool:
        """Whether the frame at stream time ``t`` should be classified."""
        if self._reference is None or t - self._reference_t >= self.max_interval_s or t < self._reference_t:
            self.last_change = 1.0
            return True
        self.last_change = picture_change(grey_thumbnail(bgr), self._reference)
        return self.last_change >= self.threshold

    def remember(self, bgr: np.ndarray, t: float) -> None:
        """``bgr`` was classified: later frames are compared with it."""
        self._reference, self._reference_t = grey_thumbnail(bgr), t

    def reset(self) -> None:
        """A new connection: the next frame is classified."""
        self._reference = None
