"""Temporal decoding: smoothed probabilities over time -> the label a person sees.

A plain rolling mean still flickers when two classes are close, and it always names a
class, even for a street with no sport in it. :class:`LabelDecoder` adds three rules on top
of the smoothed probabilities:

* **uncertain** — the top class must reach its threshold (``threshold``, or a per-class
  override), else the label is :data:`UNCERTAIN`; a model's background class (trained on
  scenes with no sport, ``background``) is shown as :data:`UNCERTAIN` too;
* **hysteresis** — a new label (``uncertain`` included) must lead for ``hysteresis_s``
  seconds before it replaces the one shown;
* **minimum segment** — a label, once shown, stays at least ``min_segment_s`` seconds.

After a scene cut or a reconnect, :meth:`LabelDecoder.cut` lifts the minimum-segment rule
(the old scene is gone) and forgets the pending candidate; hysteresis still applies, so the
new scene's label appears after ``hysteresis_s`` of evidence from the new scene only.

Times are seconds on the stream's own timeline (a file's position, a live frame's capture time).

Usage::

    decoder = LabelDecoder(labels, threshold=0.5, hysteresis_s=0.5, min_segment_s=1.0)
    label, confidence = decoder.update(smoothed_probs, t=frame_time)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from vidclf.streaming.smoothing import Smoother

UNCERTAIN = "uncertain"
_EPS = 1e-6  # timestamps are float seconds (a file's ms timestamps, 1/fps steps): compare with slack


class LabelDecoder:
    def __init__(
        self,
        labels: list[str],
        threshold: float = 0.0,
        class_thresholds: Mapping[str, float] | None = None,
        hysteresis_s: float = 0.0,
        min_segment_s: float = 0.0,
        background: Iterable[str] = (),
    ):
        unknown = set(class_thresholds or {}) - set(labels)
        if unknown:
            raise ValueError(f"thresholds for classes the model does not have: {', '.join(sorted(unknown))}")
        self.labels = labels
        self.class_thresholds = dict(class_thresholds or {})  # the per-class ones in force (model's and config's)
        self.thresholds = np.array([(class_thresholds or {}).get(name, threshold) for name in labels], np.float32)
        self.background = set(background) & set(labels)  # names a model does not have are ignored
        self.hysteresis_s, self.min_segment_s = hysteresis_s, min_segment_s
        self.shown: str | None = None
        self._shown_since = 0.0
        self._pending: str | None = None
        self._pending_since = 0.0
        self._last_t: float | None = None

    def candidate(self, smoothed: np.ndarray) -> str:
        """What this frame alone says: the top class if it reaches its threshold."""
        top = int(np.argmax(smoothed))
        if smoothed[top] < self.thresholds[top] or self.labels[top] in self.background:
            return UNCERTAIN
        return self.labels[top]

    def update(self, smoothed: np.ndarray, t: float) -> tuple[str, float]:
        """Fold in one frame's smoothed probabilities; return ``(label shown, its confidence)``.

        The confidence of :data:`UNCERTAIN` is the top class's probability (how close it came).
        """
        candidate = self.candidate(smoothed)
        if self._last_t is not None and t < self._last_t:  # a looped file starts again: a new scene
            self.cut()
        self._last_t = t
        if self.shown is None:
            self.shown, self._shown_since = candidate, t
        elif candidate == self.shown:
            self._pending = None
        else:
            if candidate != self._pending:
                self._pending, self._pending_since = candidate, t
            led, held = t - self._pending_since + _EPS, t - self._shown_since + _EPS
            if led >= self.hysteresis_s and held >= self.min_segment_s:
                self.shown, self._shown_since, self._pending = candidate, t, None
        return self.shown, self.confidence(smoothed)

    def confidence(self, smoothed: np.ndarray) -> float:
        if self.shown == UNCERTAIN or self.shown is None:
            return float(np.max(smoothed))
        return float(smoothed[self.labels.index(self.shown)])

    def cut(self) -> None:
        """The scene changed (a cut, a reconnect): the shown label may go at once, once the
        new scene's evidence has led for ``hysteresis_s``."""
        self._shown_since = float("-inf")
        self._pending = None


class FrameLabeler:
    """One frame's path from probabilities to the label shown: the smoother, then the
    decoder; a cut (new shot, reconnect) restarts both first. The predictor and the decoding
    sweep (``bench/sweep_decoding.py``) both go through here, so they cannot differ.

    Usage::

        labeler = FrameLabeler(make_smoother("mean", 8), LabelDecoder(labels, threshold=0.7))
        smoothed, label, confidence = labeler.step(probs, t=frame_time, cut=False)
    """

    def __init__(self, smoother: Smoother, decoder: LabelDecoder):
        self.smoother, self.decoder = smoother, decoder

    def step(self, probs: np.ndarray, t: float, cut: bool = False) -> tuple[np.ndarray, str, float]:
        if cut:
            self.restart()
        smoothed = self.smoother.update(probs, t)
        label, confidence = self.decoder.update(smoothed, t)
        return smoothed, label, confidence

    def restart(self) -> None:
        """A new scene or a new connection: drop the old evidence, let the label change."""
        self.smoother.reset()
        self.decoder.cut()
