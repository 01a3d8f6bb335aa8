"""The predictor thread: frames in, smoothed predictions out -- for one stream or several.

Preprocessing is :func:`vidclf.runtime.preprocess.prepare_image` (the same function training used);
normalisation is inside the model. Per frame: the model's probabilities, calibrated by the
model's temperature (:mod:`vidclf.runtime.calibration`), go into the stream's smoothing window,
and its :class:`~vidclf.streaming.decoding.LabelDecoder` turns the smoothed probabilities into
the label shown (``uncertain``, hysteresis, minimum segment). A scene cut
(:mod:`vidclf.streaming.scene_cut`) or a :class:`~vidclf.core.messages.StreamReset` restarts
the window: evidence from the old scene no longer applies.

Which frames the model sees is each stream's :class:`~vidclf.streaming.schedule.ClassifySchedule`
(``classify_fps``; from a live source only the newest frame waiting, so when the model is
slower than the camera the label lags by about one inference, not by a queue). Every other
frame still goes on to the renderer (shown, recorded, logged) with the latest classified
frame's label, marked ``classified=False``; frames behind the newest go out before the model
runs, so they do not wait for it.

Several streams (:class:`Channel`, one per source) share one :class:`SharedPredictor` and one
model: each pass takes what every stream has waiting -- a live stream contributes at most its
newest frame, a file at most ``max_batch`` -- and classifies all of it in one model call;
the stream that goes first rotates, so no stream starves. With ``classify_fps`` the streams'
due times are staggered across the interval, so the model's work comes in small, even calls.
A :class:`PredictorPool` runs several such threads over the same streams: a thread claims a
stream for one pass (its frames stay in order), and any thread that is free takes the next
stream with frames waiting, so the load stays even when streams end or differ in rate.

Usage::

    channel = Channel(frames, predictions, stats, FrameLabeler(smoother, decoder), stop, cuts)
    shared = SharedPredictor(classifier, [channel, ...], stop, max_batch=8)
    shared.start()
"""

from __future__ import annotations

import math
import queue
import threading
import time

import numpy as np

from vidclf.core.frame_queue import FrameQueue
from vidclf.core.messages import END_OF_STREAM, Frame, Prediction, StreamReset
from vidclf.core.metrics import PipelineStats
from vidclf.runtime.calibration import apply_temperature
from vidclf.runtime.classifier import Classifier
from vidclf.runtime.preprocess import DEFAULT_FIT, prepare_image
from vidclf.streaming.change_gate import ChangeGate
from vidclf.streaming.decoding import FrameLabeler
from vidclf.streaming.scene_cut import SceneCutDetector
from vidclf.streaming.schedule import ClassifySchedule, stream_time

IDLE_WAIT_S = 0.1  # nothing waiting anywhere: look at the stop event at least this often


class Channel:
    """One stream's side of the predictor: its queues, its schedule, smoother + decoder and
    scene-cut detector, and the latest classified frame whose label the others carry."""

    def __init__(
        self,
        frames: FrameQueue,
        out: FrameQueue,
        stats: PipelineStats,
        labeler: FrameLabeler,
        stop: threading.Event,
        cuts: SceneCutDetector | None = None,
        classify_fps: float | None = None,
        live: bool = False,
        gate: ChangeGate | None = None,
    ):
        self.frames, self.out, self.stats, self.labeler, self.stop, self.cuts = frames, out, stats, labeler, stop, cuts
        self.schedule = ClassifySchedule(classify_fps, live, gate=gate)
        self.live = live
        self.latest: Prediction | None = None
        self.frames_classified = 0
        self.finished = False
        # held by the predictor thread serving this stream for one pass (take -> emit): with
        # several threads (PredictorPool), one stream is never served by two at once
        self.claim = threading.Lock()

    def take(self, max_batch: int, timeout: float | None) -> list:
        """The next item (waiting up to ``timeout``; None: not at all) and the frames queued
        right behind it. Live: everything waiting (the queue is small), so that the newest
        frame is among them."""
        items = [self.frames.get(timeout=timeout if timeout is not None else 0)]
        limit = len(self.frames) + 1 if self.live else max_batch
        while len(items) < limit and isinstance(items[-1], Frame):
            try:
                items.append(self.frames.get(timeout=0))
            except queue.Empty:
                break
        return items

    def label(self, frame: Frame, probs: np.ndarray, infer_ms: float, now: float) -> Prediction:
        cut = self.cuts is not None and self.cuts.update(frame.image)
        smoothed, label, confidence = self.labeler.step(probs, stream_time(frame), cut)
        return Prediction(frame, probs, smoothed, label, confidence, infer_ms, now, cut)

    def carried(self, frame: Frame) -> Prediction:
        latest = self.latest
        assert latest is not None  # the first frame of a stream is always classified
        return Prediction(
            frame, latest.probs, latest.smoothed, latest.label, latest.confidence, 0.0, time.monotonic(), False, False
        )

    def emit(self, prediction: Prediction) -> bool:
        if prediction.classified:
            self.latest = prediction
            self.frames_classified += 1
            self.stats.inference_fps.tick(prediction.predicted_at)
            self.stats.infer_ms.add(prediction.infer_ms)
        return self.out.put(prediction, self.stop)

    def restart(self, reset: StreamReset) -> None:
        self.labeler.restart()
        if self.cuts is not None:
            self.cuts.reset()
        self.latest = None
        self.schedule.reset()
        self.out.put(reset, force=True)

    def end(self) -> None:
        if not self.finished:
            self.finished = True
            self.out.put(END_OF_STREAM, force=True)


class SharedPredictor(threading.Thread):
    """Classifies the frames of every channel with one model; see the module docstring."""

    def __init__(
        self,
        classifier: Classifier,
        channels: list[Channel],
        stop: threading.Event,
        max_batch: int = 8,
        fit: str = DEFAULT_FIT,
        sharers: int = 1,
    ):
        super().__init__(name="predictor", daemon=True)
        self.classifier, self.channels, self.stop = classifier, channels, stop
        self.temperature = getattr(classifier, "temperature", 1.0)
        self.max_batch, self.fit = max_batch, fit
        self.sharers = sharers  # threads serving these channels: each pass takes its share of them
        self.passes_by_channel = [0] * len(channels)  # how often this thread served each stream (balance)
        self.error: str | None = None
        self.cpu_s = 0.0
        self._first = 0  # the channel served first in the next pass (rotates: fairness)
        # set by every input queue on put: with several streams the thread sleeps on this
        # instead of polling each queue (polling every few ms cost CPU on idle cameras)
        self._arrived = threading.Event()
        for i, channel in enumerate(channels):
            channel.frames.ring_on_put(self._arrived)
            channel.schedule.phase = i / len(channels)  # staggered due times: see schedule.py

    @property
    def frames_classified(self) -> int:
        return sum(channel.frames_classified for channel in self.channels)

    def classify(self, work: list[tuple[Channel, Frame]]) -> list[Prediction]:
        """One model call for every (channel, frame) in ``work``; each frame, in order, goes
        into its own stream's smoothing window."""
        if not work:
            return []
        size = self.classifier.input_size
        batch = np.stack([prepare_image(frame.image, size, self.fit) for _, frame in work])
        t0 = time.perf_counter()
        probs = apply_temperature(self.classifier.predict(batch), self.temperature)
        infer_ms = (time.perf_counter() - t0) * 1000 / len(work)  # each frame's share of the call
        now = time.monotonic()
        return [channel.label(frame, p, infer_ms, now) for (channel, frame), p in zip(work, probs, strict=True)]

    def _pass(self, taken: list[tuple[Channel, list]]) -> bool:
        """Classify what is due in ``taken`` in one call and emit every frame in its stream's
        order; False when stopped while waiting for room downstream."""
        plans = []
        for channel, items in taken:
            frames = [item for item in items if isinstance(item, Frame)]
            control = items[-1] if not isinstance(items[-1], Frame) else None
            have_label = channel.latest is not None
            due = channel.schedule.choose(frames, have_label)
            # Live, with a label to carry: only the newest frame can be due, and the frames behind
            # it go out at once: they must not wait for the model. Without a label yet (a new
            # stream, a reconnect) every frame waits its turn and carries the first result.
            early = channel.live and have_label
            if early:
                for frame, is_due in zip(frames, due, strict=True):
                    if not is_due and not channel.emit(channel.carried(frame)):
                        return False
            plans.append((channel, frames, due, control, early))
        work = [
            (channel, frame) for channel, frames, due, *_ in plans for frame, is_due in zip(frames, due, strict=True) if is_due
        ]
        results = iter(self.classify(work))
        for channel, frames, due, control, early in plans:
            for frame, is_due in zip(frames, due, strict=True):
                if is_due:
                    if not channel.emit(next(results)):
                        return False
                elif not early and not channel.emit(channel.carried(frame)):
                    return False
            if control is END_OF_STREAM:
                channel.end()
            elif isinstance(control, StreamReset):
                channel.restart(control)
        return True

    def _take_all(self) -> list[tuple[Channel, list]]:
        """Claim streams with something waiting and take their items; the caller releases the
        claims after the pass. With ``sharers`` threads over the same streams, a thread claims
        its share of the streams now waiting, so that free threads split the work."""
        open_channels = [c for c in self.channels if not c.finished]
        if len(open_channels) == 1 and self.sharers == 1:  # one stream: wait on its queue (no polling)
            channel = open_channels[0]
            channel.claim.acquire()
            try:
                return [(channel, channel.take(self.max_batch, IDLE_WAIT_S))]
            except queue.Empty:
                channel.claim.release()
                return []
        waiting = sum(1 for c in open_channels if len(c.frames))  # a hint: others may take some first
        share = max(1, math.ceil(waiting / self.sharers))
        start = self._first % max(len(open_channels), 1)
        self._first += 1
        taken = []
        for channel in open_channels[start:] + open_channels[:start]:
            if len(taken) >= share:
                break
            if not channel.claim.acquire(blocking=False):
                continue  # another thread is serving it this pass
            try:
                taken.append((channel, channel.take(self.max_batch, None)))
            except queue.Empty:
                channel.claim.release()
        return taken

    def run(self) -> None:
        cpu_started = time.thread_time()
        try:
            while not all(channel.finished for channel in self.channels):
                self._arrived.clear()  # before looking: a put after this wakes the wait below
                taken = self._take_all()
                if not taken:
                    if self.stop.is_set():
                        break
                    if len(self.channels) > 1 or self.sharers > 1:
                        self._arrived.wait(IDLE_WAIT_S)
                    continue
                try:
                    for channel, _ in taken:
                        self.passes_by_channel[self.channels.index(channel)] += 1
                    if not self._pass(taken):
                        return
                finally:
                    for channel, _ in taken:
                        channel.claim.release()
        except Exception as exc:
            self.error = f"predictor failed: {type(exc).__name__}: {exc}"
            self.stop.set()
        finally:
            for channel in self.channels:
                # another thread of a pool may be finishing a pass on it: end it after that
                # pass (a thread stuck downstream gives up within 0.1 s once stop is set)
                got = channel.claim.acquire(timeout=1.0)
                channel.end()
                if got:
                    channel.claim.release()
            # resize, scene cuts, smoothing, and the model call's own thread (the inference
            # library's worker threads are not in here)
            self.cpu_s = time.thread_time() - cpu_started


class PredictorPool:
    """The shared predictor of several streams run by ``len(classifiers)`` threads, each a
    :class:`SharedPredictor` with its own copy of the model (an interpreter is not thread-safe)
    over ALL the streams. In each pass a thread claims up to its share of the streams that have
    frames waiting (``ceil(waiting streams / threads)``), so a stream is served by one thread at
    a time and its frames stay in order, while whichever thread is free takes the next stream:
    when some streams end or run at a higher rate, the others are not left on one thread. The
    model call releases the GIL, so the threads classify side by side on separate cores.

    Usage::

        pool = PredictorPool([load_classifier(path, threads=1) for _ in range(2)], channels, stop)
        pool.start(); ...; pool.join(5.0)
    """

    def __init__(
        self,
        classifiers: list[Classifier],
        channels: list[Channel],
        stop: threading.Event,
        max_batch: int = 8,
        fit: str = DEFAULT_FIT,
    ):
        k = len(classifiers)
        self.channels = channels
        self.workers = [SharedPredictor(clf, channels, stop, max_batch, fit, sharers=k) for clf in classifiers]
        for i, worker in enumerate(self.workers):
            worker.name = f"predictor-{i}"

    def start(self) -> None:
        for worker in self.workers:
            worker.start()

    def join(self, timeout: float | None = None) -> None:
        for worker in self.workers:
            worker.join(timeout)

    def is_alive(self) -> bool:
        return any(worker.is_alive() for worker in self.workers)

    @property
    def error(self) -> str | None:
        return next((worker.error for worker in self.workers if worker.error), None)

    @property
    def cpu_s(self) -> float:
        return sum(worker.cpu_s for worker in self.workers)

    @property
    def frames_classified(self) -> int:
        return sum(channel.frames_classified for channel in self.channels)
