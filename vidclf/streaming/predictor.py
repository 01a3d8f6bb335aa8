"""The predictor thread: frames in, smoothed predictions out.

Preprocessing is :func:`vidclf.runtime.preprocess.prepare_image` (the same function training used);
normalisation is inside the model. Per frame: the model's probabilities, calibrated by the
model's temperature (:mod:`vidclf.runtime.calibration`), go into the smoothing window, and the
:class:`~vidclf.streaming.decoding.LabelDecoder` turns the smoothed probabilities into the label shown
(``uncertain``, hysteresis, minimum segment). A scene cut (:mod:`vidclf.streaming.scene_cut`) or a
:class:`~vidclf.streaming.messages.StreamReset` restarts the window: evidence from the old scene no
longer applies.

Usage::

    predictor = Predictor(classifier, smoother, frames, predictions, stop, stats, max_batch=8,
                          decoder=LabelDecoder(labels, threshold=0.5), cuts=SceneCutDetector())
    predictor.start()
"""

from __future__ import annotations

import queue
import threading
import time

import numpy as np

from vidclf.runtime.calibration import apply_temperature
from vidclf.runtime.classifier import Classifier
from vidclf.runtime.preprocess import prepare_image
from vidclf.streaming.decoding import FrameLabeler, LabelDecoder
from vidclf.streaming.frame_queue import FrameQueue
from vidclf.streaming.messages import END_OF_STREAM, Frame, Prediction, StreamReset
from vidclf.streaming.metrics import PipelineStats
from vidclf.streaming.scene_cut import SceneCutDetector
from vidclf.streaming.smoothing import Smoother


class Predictor(threading.Thread):
    """Classifies frames; frames already waiting are batched together (up to ``max_batch``).

    Batching never waits for frames to arrive, so a live source at its normal rate still gets
    one frame per call and no added latency; a backlog (a file, a burst) is cleared faster.
    """

    def __init__(
        self,
        classifier: Classifier,
        smoother: Smoother,
        frames: FrameQueue,
        out: FrameQueue,
        stop: threading.Event,
        stats: PipelineStats,
        max_batch: int = 8,
        decoder: LabelDecoder | None = None,
        cuts: SceneCutDetector | None = None,
        fit: str = "squash",
    ):
        super().__init__(name="predictor", daemon=True)
        self.classifier = classifier
        # default decoder: the top class, at once
        self.labeler = FrameLabeler(smoother, decoder or LabelDecoder(classifier.labels))
        self.cuts = cuts
        self.temperature = getattr(classifier, "temperature", 1.0)
        self.frames, self.out, self.stop, self.stats = frames, out, stop, stats
        self.max_batch, self.fit = max_batch, fit
        self.error: str | None = None

    def predict(self, frames: list[Frame]) -> list[Prediction]:
        """Classify ``frames`` in one model call and fold each, in order, into the smoothing window."""
        batch = np.stack([prepare_image(f.image, self.classifier.input_size, self.fit) for f in frames])
        t0 = time.perf_counter()
        probs = apply_temperature(self.classifier.predict(batch), self.temperature)
        infer_ms = (time.perf_counter() - t0) * 1000 / len(frames)  # each frame's share of the call
        now = time.monotonic()
        out = []
        for frame, p in zip(frames, probs, strict=True):
            cut = self.cuts is not None and self.cuts.update(frame.image)
            # a file's own timeline (replays faster than real time), a live frame's capture time
            t = frame.captured_at if frame.position_s is None else frame.position_s
            smoothed, label, confidence = self.labeler.step(p, t, cut)
            out.append(Prediction(frame, p, smoothed, label, confidence, infer_ms, now, cut))
        return out

    def _take(self) -> list:
        """The next item, plus the frames queued right behind it (never waits for more)."""
        items = [self.frames.get(timeout=0.1)]
        while len(items) < self.max_batch and isinstance(items[-1], Frame):
            try:
                items.append(self.frames.get(timeout=0))
            except queue.Empty:
                break
        return items

    def run(self) -> None:
        try:
            while True:
                try:
                    items = self._take()
                except queue.Empty:
                    if self.stop.is_set():
                        break
                    continue
                frames = [item for item in items if isinstance(item, Frame)]
                control = items[-1] if not isinstance(items[-1], Frame) else None
                if frames:
                    for prediction in self.predict(frames):
                        self.stats.inference_fps.tick(prediction.predicted_at)
                        self.stats.infer_ms.add(prediction.infer_ms)
                        if not self.out.put(prediction, self.stop):
                            return
                if control is END_OF_STREAM:
                    break
                if isinstance(control, StreamReset):
                    self.labeler.restart()
                    if self.cuts is not None:
                        self.cuts.reset()
                    self.out.put(control, force=True)
        except Exception as exc:
            self.error = f"predictor failed: {type(exc).__name__}: {exc}"
            self.stop.set()
        finally:
            self.out.put(END_OF_STREAM, force=True)
