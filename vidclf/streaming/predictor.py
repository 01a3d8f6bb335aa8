"""The predictor thread: frames in, smoothed predictions out.

Preprocessing is :func:`vidclf.runtime.preprocess.prepare_image` (the same function training used);
normalisation is inside the model. Per frame: the model's probabilities, calibrated by the
model's temperature (:mod:`vidclf.runtime.calibration`), go into the smoothing window, and the
:class:`~vidclf.streaming.decoding.LabelDecoder` turns the smoothed probabilities into the label shown
(``uncertain``, hysteresis, minimum segment). A scene cut (:mod:`vidclf.streaming.scene_cut`) or a
:class:`~vidclf.streaming.messages.StreamReset` restarts the window: evidence from the old scene no
longer applies.

Which frames the model sees: at most ``classify_fps`` per second of the stream's time (None:
every frame), and from a live source only the newest frame waiting -- a backlog of stale
frames is never classified, so when the model is slower than the camera the label lags by
about one inference, not by a queue. Every other frame still goes on to the renderer (shown,
recorded, logged) with the latest classified frame's label, marked ``classified=False``;
frames behind the newest go out before the model runs, so they do not wait for it.

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
        classify_fps: float | None = None,
        live: bool = False,
    ):
        super().__init__(name="predictor", daemon=True)
        self.classifier = classifier
        # default decoder: the top class, at once
        self.labeler = FrameLabeler(smoother, decoder or LabelDecoder(classifier.labels))
        self.cuts = cuts
        self.temperature = getattr(classifier, "temperature", 1.0)
        self.frames, self.out, self.stop, self.stats = frames, out, stop, stats
        self.max_batch, self.fit = max_batch, fit
        self.interval = 1.0 / classify_fps if classify_fps else 0.0
        self.live = live
        self.error: str | None = None
        self.frames_classified = 0
        self.cpu_s = 0.0
        self._next_due: float | None = None  # stream time from which the next frame is classified
        self._last_t: float | None = None
        self._latest: Prediction | None = None  # the latest classified frame's result

    def predict(self, frames: list[Frame]) -> list[Prediction]:
        """Classify ``frames`` in one model call and fold each, in order, into the smoothing window."""
        if not frames:
            return []
        batch = np.stack([prepare_image(f.image, self.classifier.input_size, self.fit) for f in frames])
        t0 = time.perf_counter()
        probs = apply_temperature(self.classifier.predict(batch), self.temperature)
        infer_ms = (time.perf_counter() - t0) * 1000 / len(frames)  # each frame's share of the call
        now = time.monotonic()
        out = []
        for frame, p in zip(frames, probs, strict=True):
            cut = self.cuts is not None and self.cuts.update(frame.image)
            smoothed, label, confidence = self.labeler.step(p, self._time(frame), cut)
            out.append(Prediction(frame, p, smoothed, label, confidence, infer_ms, now, cut))
        return out

    @staticmethod
    def _time(frame: Frame) -> float:
        # a file's own timeline (replays faster than real time), a live frame's capture time
        return frame.captured_at if frame.position_s is None else frame.position_s

    def _due(self, t: float) -> bool:
        """Is a frame at stream time ``t`` to be classified (``classify_fps``)? Due times keep
        their phase (10 FPS of a 30 FPS stream = every third frame) unless the stream fell
        behind by more than an interval."""
        if self._next_due is not None and t < self._next_due - 1e-3:
            return False
        if self.interval:
            on_phase = self._next_due is not None and t - self._next_due < self.interval
            self._next_due = (self._next_due if on_phase else t) + self.interval
        return True

    def _choose(self, frames: list[Frame]) -> list[bool]:
        chosen = []
        for i, frame in enumerate(frames):
            t = self._time(frame)
            if self._last_t is not None and t < self._last_t:  # the timeline restarted (--loop)
                self._next_due = None
            self._last_t = t
            # live: only the newest frame waiting is worth the model's time (the first ever
            # frames all are: there is no label to carry yet)
            candidate = not self.live or i == len(frames) - 1 or self._latest is None
            chosen.append(candidate and self._due(t))
        return chosen

    def _carried(self, frame: Frame) -> Prediction:
        latest = self._latest
        assert latest is not None  # the first frame of a stream is always classified
        return Prediction(
            frame, latest.probs, latest.smoothed, latest.label, latest.confidence, 0.0, time.monotonic(), False, False
        )

    def _emit(self, prediction: Prediction) -> bool:
        if prediction.classified:
            self._latest = prediction
            self.frames_classified += 1
            self.stats.inference_fps.tick(prediction.predicted_at)
            self.stats.infer_ms.add(prediction.infer_ms)
        return self.out.put(prediction, self.stop)

    def handle(self, frames: list[Frame]) -> bool:
        """Classify the frames due, pass the others on with the latest label, in order.
        False when stopped while waiting for room downstream."""
        chosen = self._choose(frames)
        if self.live:
            # frames behind the newest go out at once: they must not wait for the model
            for frame, due in zip(frames, chosen, strict=True):
                if not due and not self._emit(self._carried(frame)):
                    return False
            return all(self._emit(p) for p in self.predict([f for f, due in zip(frames, chosen, strict=True) if due]))
        picked = [f for f, due in zip(frames, chosen, strict=True) if due]
        results = iter(self.predict(picked) if picked else [])
        for frame, due in zip(frames, chosen, strict=True):
            if not self._emit(next(results) if due else self._carried(frame)):
                return False
        return True

    def _take(self) -> list:
        """The next item, plus the frames queued right behind it (never waits for more)."""
        items = [self.frames.get(timeout=0.1)]
        # live: everything waiting (the queue is small), so that the newest frame is among them
        limit = len(self.frames) + 1 if self.live else self.max_batch
        while len(items) < limit and isinstance(items[-1], Frame):
            try:
                items.append(self.frames.get(timeout=0))
            except queue.Empty:
                break
        return items

    def run(self) -> None:
        cpu_started = time.thread_time()
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
                if frames and not self.handle(frames):
                    return
                if control is END_OF_STREAM:
                    break
                if isinstance(control, StreamReset):
                    self.labeler.restart()
                    if self.cuts is not None:
                        self.cuts.reset()
                    self._latest, self._next_due, self._last_t = None, None, None
                    self.out.put(control, force=True)
        except Exception as exc:
            self.error = f"predictor failed: {type(exc).__name__}: {exc}"
            self.stop.set()
        finally:
            self.out.put(END_OF_STREAM, force=True)
            # resize, scene cuts, smoothing, and the model call's own thread (the inference
            # library's worker threads are not in here)
            self.cpu_s = time.thread_time() - cpu_started
