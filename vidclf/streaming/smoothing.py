"""Prediction smoothing: stop the label flickering between classes from frame to frame.

Two strategies behind one two-method interface (``update`` returns the smoothed
probabilities; ``reset`` forgets the past, e.g. after a reconnect):

* :class:`RollingMean` — mean of the last K predictions (the classic recipe), or of those of
  the last ``window_s`` seconds of the stream's time (the same span at any classification
  rate, see ``model.classify_fps``). A label change needs about half a window of evidence.
* :class:`ExponentialAverage` — EMA with weight ``alpha`` on the newest prediction; no window
  to store, decays smoothly.

Usage::

    smoother = make_smoother("mean", size=16)
    smoothed = smoother.update(probs)      # probs: (n_classes,) float
    smoother = make_smoother("mean", window_s=0.5)
    smoothed = smoother.update(probs, t=frame_time_s)
"""

from __future__ import annotations

import collections
from typing import Protocol

import numpy as np


class Smoother(Protocol):
    def update(self, probs: np.ndarray, t: float | None = None) -> np.ndarray: ...

    def reset(self) -> None: ...


class RollingMean:
    """Mean of the last ``size`` probability vectors, or (``window_s``) of those whose time
    ``t`` lies within the last ``window_s`` seconds (the newest always counts)."""

    def __init__(self, size: int, window_s: float | None = None):
        if size < 1:
            raise ValueError("size must be >= 1")
        if window_s is not None and window_s <= 0:
            raise ValueError("window_s must be > 0")
        self.window_s = window_s
        # a time window keeps what its span holds; the size cap then only bounds memory
        self.window: collections.deque[np.ndarray] = collections.deque(maxlen=None if window_s else size)
        self.times: collections.deque[float] = collections.deque()

    def update(self, probs: np.ndarray, t: float | None = None) -> np.ndarray:
        self.window.append(np.asarray(probs, dtype=np.float32))
        if self.window_s is not None:
            if t is None:
                raise ValueError("a time window needs each prediction's time t")
            self.times.append(t)
            while t - self.times[0] > self.window_s + 1e-6:
                self.times.popleft()
                self.window.popleft()
        return np.mean(self.window, axis=0)

    def reset(self) -> None:
        self.window.clear()
        self.times.clear()


class ExponentialAverage:
    """``s = alpha * p + (1 - alpha) * s``, starting from the first prediction."""

    def __init__(self, alpha: float):
        if not 0.0 < alpha <= 1.0:
            raise ValueError("alpha must be in (0, 1]")
        self.alpha = alpha
        self.state: np.ndarray | None = None

    def update(self, probs: np.ndarray, t: float | None = None) -> np.ndarray:
        probs = np.asarray(probs, dtype=np.float32)
        self.state = probs.copy() if self.state is None else self.alpha * probs + (1 - self.alpha) * self.state
        return self.state

    def reset(self) -> None:
        self.state = None


class NoSmoothing:
    def update(self, probs: np.ndarray, t: float | None = None) -> np.ndarray:
        return np.asarray(probs, dtype=np.float32)

    def reset(self) -> None:
        pass


def make_smoother(mode: str, size: int = 16, alpha: float = 0.15, window_s: float | None = None) -> Smoother:
    """``mode``: ``mean`` (rolling window of ``size``, or of ``window_s`` seconds), ``ema``
    (``alpha``) or ``none``."""
    if mode == "mean":
        return RollingMean(size, window_s)
    if mode == "ema":
        return ExponentialAverage(alpha)
    if mode == "none":
        return NoSmoothing()
    raise ValueError(f"unknown smoothing mode {mode!r}")
