"""Prediction smoothing: stop the label flickering between classes from frame to frame.

Two strategies behind one two-method interface (``update`` returns the smoothed
probabilities; ``reset`` forgets the past, e.g. after a reconnect):

* :class:`RollingMean` — mean of the last K predictions (the classic recipe). A label change
  needs about K/2 frames of evidence.
* :class:`ExponentialAverage` — EMA with weight ``alpha`` on the newest prediction; no window
  to store, decays smoothly.

Usage::

    smoother = make_smoother("mean", size=16)
    smoothed = smoother.update(probs)      # probs: (n_classes,) float
"""

from __future__ import annotations

import collections
from typing import Protocol

import numpy as np


class Smoother(Protocol):
    def update(self, probs: np.ndarray) -> np.ndarray: ...

    def reset(self) -> None: ...


class RollingMean:
    """Mean of the last ``size`` probability vectors."""

    def __init__(self, size: int):
        if size < 1:
            raise ValueError("size must be >= 1")
        self.window: collections.deque[np.ndarray] = collections.deque(maxlen=size)

    def update(self, probs: np.ndarray) -> np.ndarray:
        self.window.append(np.asarray(probs, dtype=np.float32))
        return np.mean(self.window, axis=0)

    def reset(self) -> None:
        self.window.clear()


class ExponentialAverage:
    """``s = alpha * p + (1 - alpha) * s``, starting from the first prediction."""

    def __init__(self, alpha: float):
        if not 0.0 < alpha <= 1.0:
            raise ValueError("alpha must be in (0, 1]")
        self.alpha = alpha
        self.state: np.ndarray | None = None

    def update(self, probs: np.ndarray) -> np.ndarray:
        probs = np.asarray(probs, dtype=np.float32)
        self.state = probs.copy() if self.state is None else self.alpha * probs + (1 - self.alpha) * self.state
        return self.state

    def reset(self) -> None:
        self.state = None


class NoSmoothing:
    def update(self, probs: np.ndarray) -> np.ndarray:
        return np.asarray(probs, dtype=np.float32)

    def reset(self) -> None:
        pass


def make_smoother(mode: str, size: int = 16, alpha: float = 0.15) -> Smoother:
    """``mode``: ``mean`` (rolling window of ``size``), ``ema`` (``alpha``) or ``none``."""
    if mode == "mean":
        return RollingMean(size)
    if mode == "ema":
        return ExponentialAverage(alpha)
    if mode == "none":
        return NoSmoothing()
    raise ValueError(f"unknown smoothing mode {mode!r}")
