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

from vidclf.core.frame_queue import FrameQueue
from vidclf.core.messages import END_OF_STREAM, Prediction, StreamReset
from vidclf.core.metrics import PipelineStats
from vidclf.core.records import FrameResult, SegmentEvent
from vidclf.errors import VidclfError
from vidclf.sinks.events import Sink, SinkGuard
from vidclf.sinks.overlay import draw_overlay, top_k
from vidclf.sinks.record import Recorder
from vidclf.sinks.results import ResultsWriter, SegmentTracker
from vidclf.sinks.window import Window

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
        sinks: list[Sink] | None = None,
        source_name: str = "",
    ):
        self.predictions, self.labels, self.stop, self.stats = predictions, labels, stop, stats
        self.k, self.window, self.recorder, self.results = k, window, recorder, results
        self.sinks, self.source_name = list(sinks or []), source_name
        self.quit_by_key = False
        self.cpu_s = 0.0
        self.finished_at: float | None = None  # time.monotonic() when run() returned
        self.error: str | None = None  # a failed write (recording or results): the run stops
        self.segments = SegmentTracker()
        self.guard = SinkGuard()  # a failing sink is counted, never the end of the run
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

    @property
    def _draw(self) -> bool:
        return self.window is not None or self.recorder is not None or any(sink.wants_image for sink in self.sinks)

    def handle(self, prediction: Prediction) -> None:
        now = time.monotonic()
        if self._t0 is None:
            self._t0 = prediction.frame.captured_at
        status = "" if self.stats.source_state == "streaming" else self.stats.source_state
        if self._draw:
            annotated = draw_overlay(prediction, self.labels, self.k, self.stats.display_fps.rate(now), status)
        else:  # nobody looks at the picture (headless, no recording, no viewer): skip the copy and drawing
            annotated = prediction.frame.image
        latency_ms = (time.monotonic() - prediction.frame.captured_at) * 1000
        self.stats.latency_ms.add(latency_ms)
        self.stats.display_fps.tick(now)
        self.stats.label = prediction.label
        self.stats.top_k = top_k(prediction.smoothed, self.labels, self.k)
        # a file's segments sit on the video's own timeline, a live source's on the clock
        position = prediction.frame.position_s
        timeline_s = prediction.frame.captured_at - self._t0 if position is None else position
        ended, started = self.segments.add(prediction.frame.index, timeline_s, self.stats.label)
        self._record(prediction.frame.captured_at, annotated)
        if self.results is not None or self.sinks:  # someone takes the frame's one record
            result = self._result(prediction, annotated, latency_ms)
            if self.results is not None:
                self.results.write(result)
            if self.sinks:
                self._to_sinks(result, ended, started)
        if self.window is not None:
            self.window.show(annotated)
            if self.window.quit_requested():
                self.quit_by_key = True
                self.stop.set()

    def _result(self, prediction: Prediction, annotated, latency_ms: float) -> FrameResult:
        frame = prediction.frame
        return FrameResult(
            frame_index=frame.index,
            time_s=frame.captured_at - self._t0,
            position_s=frame.position_s,
            label=prediction.label,
            confidence=prediction.confidence,
            top_k=top_k(prediction.probs, self.labels, self.k),
            infer_ms=prediction.infer_ms,
            latency_ms=latency_ms,
            image=annotated,
            scene_cut=prediction.scene_cut,
            classified=prediction.classified,
            wall_time=time.time() - (time.monotonic() - frame.captured_at),  # the capture, on the wall clock
        )

    def _to_sinks(self, result: FrameResult, ended, started) -> None:
        events = []
        if ended is not None:
            events.append(self._segment_event("end", ended))
        if started is not None:
            events.append(self._segment_event("start", started, result.confidence))
        for sink in self.sinks:
            for event in events:
                self.guard.call(sink, sink.on_segment, event)
            self.guard.call(sink, sink.on_frame, result)

    def _segment_event(self, kind: str, segment, confidence: float | None = None) -> SegmentEvent:
        name, label, start, first = self.source_name, segment.label, segment.start_s, segment.first_frame
        if kind == "start":
            return SegmentEvent("start", name, label, start, first, confidence=confidence)
        return SegmentEvent("end", name, label, start, first, segment.end_s, segment.last_frame)

    def run(self) -> None:
        cpu_started = time.thread_time()
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
        except BaseException as exc:  # a user callback raised: finalise everything, then hand it on
            self._failed(exc)
            raise
        finally:
            self.close()
            self.cpu_s = time.thread_time() - cpu_started  # overlay, window, recording, results, sinks
            self.finished_at = time.monotonic()

    def _failed(self, exc: BaseException) -> None:
        self.error = self.error or (str(exc) if isinstance(exc, VidclfError) else f"{type(exc).__name__}: {exc}")
        self.stop.set()

    def _close_sinks(self) -> None:
        """The last segment ends with the stream; then every sink closes (each on its own:
        one failing sink does not keep the others from finishing)."""
        last = self.segments.segments[-1] if self.segments.segments else None
        first_error: VidclfError | None = None
        for sink in self.sinks:
            calls: list[tuple] = [(sink.on_segment, self._segment_event("end", last))] if last is not None else []
            for method, *args in [*calls, (sink.close,)]:
                try:
                    self.guard.call(sink, method, *args)
                except VidclfError as exc:
                    first_error = first_error or exc
                except Exception as exc:  # noqa: BLE001  a callback that raised already ends the run
                    self.guard.count(sink.output_name, exc)
        if first_error is not None:
            raise first_error

    def close(self) -> None:
        """Finalise every output, whatever ended the run; a failure of one (of any type)
        does not keep the others from closing."""
        steps = [self._flush_probe]
        if self.sinks:
            steps.append(self._close_sinks)
        if self.recorder is not None:
            steps.append(self.recorder.close)
        if self.results is not None:
            steps.append(lambda: self.results.close(self.segments.as_dicts()))
        if self.window is not None:
            steps.append(self.window.close)
        for step in steps:
            try:
                step()
            except Exception as exc:  # noqa: BLE001  each output closes on its own
                self._failed(exc)
        if self.recorder is not None:
            self.stats.frames_written = self.recorder.frames
