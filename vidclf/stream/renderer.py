"""The renderer stage: predictions in; overlay, window, recording and results out.

It runs on the main thread (OpenCV's GUI must be driven from one thread, and signals are
delivered there). It always finalises the recording and the results file, whatever ends
the run: end of stream, ``q``, Ctrl-C, SIGTERM or a failed source.

Usage::

    renderer = Renderer(predictions, labels, stop, stats, window=None, recorder=rec, results=res)
    renderer.run()      # returns when the stream ends or stop is set
"""

from __future__ import annotations

import queue
import threading
import time

from vidclf.errors import VidclfError
from vidclf.sinks.overlay import draw_overlay, top_k
from vidclf.sinks.record import Recorder
from vidclf.sinks.results import ResultsWriter, SegmentTracker
from vidclf.sinks.window import Window
from vidclf.stream.frame_queue import FrameQueue
from vidclf.stream.messages import END_OF_STREAM, Prediction, StreamReset
from vidclf.stream.metrics import PipelineStats

FPS_PROBE_FRAMES = 30  # frames buffered to measure a live source's rate when it reports none


class Renderer:
    def __init__(
        self,
        predictions: FrameQueue,
        labels: list[str],
        stop: threading.Event,
        stats: PipelineStats,
        k: int = 3,
        window: Window | None = None,
        recorder: Recorder | None = None,
        results: ResultsWriter | None = None,
    ):
        self.predictions, self.labels, self.stop, self.stats = predictions, labels, stop, stats
        self.k, self.window, self.recorder, self.results = k, window, recorder, results
        self.quit_by_key = False
        self.error: str | None = None  # a failed write (recording or results): the run stops
        self.segments = SegmentTracker()
        self._t0: float | None = None
        self._probe: list[tuple[float, object]] = []  # (capture time, annotated image)

    def _record(self, captured_at: float, image) -> None:
        if self.recorder is None:
            return
        if self.recorder.fps:
            self.recorder.write(image)
            self.stats.frames_written = self.recorder.frames
            return
        self._probe.append((captured_at, image))
        if len(self._probe) >= FPS_PROBE_FRAMES:
            self._flush_probe()

    def _flush_probe(self) -> None:
        if not self._probe or self.recorder is None:
            return
        span = self._probe[-1][0] - self._probe[0][0]
        self.recorder.fps = (len(self._probe) - 1) / span if span > 0 and len(self._probe) > 1 else 30.0
        for _t, image in self._probe:
            self.recorder.write(image)
        self._probe.clear()
        self.stats.frames_written = self.recorder.frames

    def handle(self, prediction: Prediction) -> None:
        now = time.monotonic()
        if self._t0 is None:
            self._t0 = prediction.frame.captured_at
        status = "" if self.stats.source_state == "streaming" else self.stats.source_state
        annotated = draw_overlay(prediction, self.labels, self.k, self.stats.display_fps.rate(now), status)
        latency_ms = (time.monotonic() - prediction.frame.captured_at) * 1000
        self.stats.latency_ms.add(latency_ms)
        self.stats.display_fps.tick(now)
        self.stats.label = prediction.label
        self.stats.top_k = top_k(prediction.smoothed, self.labels, self.k)
        # a file's segments sit on the video's own timeline, a live source's on the clock
        position = prediction.frame.position_s
        self.segments.add(
            prediction.frame.index, prediction.frame.captured_at - self._t0 if position is None else position, self.stats.label
        )
        self._record(prediction.frame.captured_at, annotated)
        if self.results is not None:
            self.results.write(prediction, latency_ms, self._t0)
        if self.window is not None:
            self.window.show(annotated)
            if self.window.quit_requested():
                self.quit_by_key = True
                self.stop.set()

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                try:
                    item = self.predictions.get(timeout=0.05)
                except queue.Empty:
                    if self.window is not None:  # keep the window responsive to q while waiting
                        self.window.show_idle()
                        if self.window.quit_requested():
                            self.quit_by_key = True
                            self.stop.set()
                    continue
                if item is END_OF_STREAM:
                    break
                if isinstance(item, StreamReset):
                    continue
                self.handle(item)
        except VidclfError as exc:  # an output cannot be written: stop, keep what was saved
            self._failed(exc)
        finally:
            self.close()

    def _failed(self, exc: VidclfError) -> None:
        self.error = self.error or str(exc)
        self.stop.set()

    def close(self) -> None:
        """Finalise every output; a failure of one does not keep the others from closing."""
        steps = [self._flush_probe]
        if self.recorder is not None:
            steps.append(self.recorder.close)
        if self.results is not None:
            steps.append(lambda: self.results.close(self.segments.as_dicts()))
        if self.window is not None:
            steps.append(self.window.close)
        for step in steps:
            try:
                step()
            except VidclfError as exc:
                self._failed(exc)
        if self.recorder is not None:
            self.stats.frames_written = self.recorder.frames
