"""The predictor thread: frames in, smoothed predictions out.

Preprocessing is :func:`vidclf.preprocess.prepare_image` (the same function training used);
normalisation is inside the model. The smoothing window lives here, and is cleared when a
:class:`~vidclf.messages.StreamReset` arrives.

Usage::

    predictor = Predictor(classifier, smoother, frames, predictions, stop, stats, top_k=3)
    predictor.start()
"""

from __future__ import annotations

import queue
import threading
import time

import numpy as np

from vidclf.classifier import Classifier
from vidclf.frame_queue import FrameQueue
from vidclf.messages import END_OF_STREAM, Frame, Prediction, StreamReset
from vidclf.metrics import PipelineStats
from vidclf.preprocess import prepare_image
from vidclf.smoothing import Smoother


class Predictor(threading.Thread):
    def __init__(
        self,
        classifier: Classifier,
        smoother: Smoother,
        frames: FrameQueue,
        out: FrameQueue,
        stop: threading.Event,
        stats: PipelineStats,
    ):
        super().__init__(name="predictor", daemon=True)
        self.classifier, self.smoother = classifier, smoother
        self.frames, self.out, self.stop, self.stats = frames, out, stop, stats
        self.error: str | None = None

    def predict(self, frame: Frame) -> Prediction:
        """Classify one frame and fold it into the smoothing window."""
        batch = prepare_image(frame.image, self.classifier.input_size)[np.newaxis]
        t0 = time.perf_counter()
        probs = self.classifier.predict(batch)[0]
        infer_ms = (time.perf_counter() - t0) * 1000
        smoothed = self.smoother.update(probs)
        return Prediction(frame, probs, smoothed, int(np.argmax(smoothed)), infer_ms, time.monotonic())

    def run(self) -> None:
        try:
            while True:
                try:
                    item = self.frames.get(timeout=0.1)
                except queue.Empty:
                    if self.stop.is_set():
                        break
                    continue
                if item is END_OF_STREAM:
                    break
                if isinstance(item, StreamReset):
                    self.smoother.reset()
                    self.out.put(item, force=True)
                    continue
                prediction = self.predict(item)
                self.stats.inference_fps.tick(prediction.predicted_at)
                self.stats.infer_ms.add(prediction.infer_ms)
                if not self.out.put(prediction, self.stop):
                    break
        except Exception as exc:
            self.error = f"predictor failed: {type(exc).__name__}: {exc}"
            self.stop.set()
        finally:
            self.out.put(END_OF_STREAM, force=True)
