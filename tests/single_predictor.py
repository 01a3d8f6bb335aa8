"""The predictor of a single stream, as the unit tests drive it: frames in, predictions out,
on the calling thread (``handle``/``predict``) or as a thread (``start``).

The product only runs :class:`~vidclf.streaming.predictor.SharedPredictor` (one channel per
stream, however many streams); this wrapper builds the one channel from its parts.

Usage::

    predictor = Predictor(classifier, smoother, frames, predictions, stop, stats, max_batch=8,
                          decoder=LabelDecoder(labels, threshold=0.5), cuts=SceneCutDetector())
    predictor.run()
"""

from __future__ import annotations

import threading

from vidclf.core.frame_queue import FrameQueue
from vidclf.core.messages import Frame, Prediction
from vidclf.core.metrics import PipelineStats
from vidclf.runtime.classifier import Classifier
from vidclf.runtime.preprocess import DEFAULT_FIT
from vidclf.streaming.decoding import FrameLabeler, LabelDecoder
from vidclf.streaming.predictor import Channel, SharedPredictor
from vidclf.streaming.scene_cut import SceneCutDetector
from vidclf.streaming.smoothing import Smoother


class Predictor(SharedPredictor):
    """The predictor of a single stream: a :class:`SharedPredictor` with one channel.

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
        fit: str = DEFAULT_FIT,
        classify_fps: float | None = None,
        live: bool = False,
    ):
        # default decoder: the top class, at once
        labeler = FrameLabeler(smoother, decoder or LabelDecoder(classifier.labels))
        self.channel = Channel(frames, out, stats, labeler, stop, cuts, classify_fps, live)
        super().__init__(classifier, [self.channel], stop, max_batch, fit)
        self.frames, self.out, self.labeler = frames, out, labeler

    def predict(self, frames: list[Frame]) -> list[Prediction]:
        """Classify ``frames`` in one model call and fold each, in order, into the smoothing window."""
        return self.classify([(self.channel, frame) for frame in frames])

    def handle(self, frames: list[Frame]) -> bool:
        """Classify the frames due, pass the others on with the latest label, in order."""
        return self._pass([(self.channel, frames)])
