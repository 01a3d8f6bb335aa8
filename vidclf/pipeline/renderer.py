"""The renderer stage: predictions in; overlay, recording, results and every sink out.

Each stream's renderer runs on a thread of its own; the window is a sink
(:class:`~vidclf.sinks.mosaic.Tile`) that the main thread shows, because OpenCV's GUI must be
driven from one thread. It builds one :class:`~vidclf.core.records.FrameResult` per frame for
the results file and every sink, and always finalises the recording and the results file,
whatever ends the run: end of stream, ``q``, Ctrl-C, SIGTERM or a failed source.

Usage::

    renderer = Renderer(predictions, labels, stop, stats, sinks=[recording, results, tile])
    renderer.run()      # returns when the stream ends or stop is set
"""

from __future__ import annotations

import dataclasses
import queue
import threading
import time

from vidclf.core.frame_queue import FrameQueue
from vidclf.core.messages import END_OF_STREAM, Prediction, StreamReset
from vidclf.core.metrics import PipelineStats
from vidclf.core.records import FrameResult, Segment, SegmentEvent, SegmentTracker
from vidclf.core.states import EventKind, SourceState
from vidclf.errors import ReaderGone, VidclfError
from vidclf.sinks.events import Sink, SinkGuard
from vidclf.sinks.overlay import draw_overlay, top_k


class Renderer:
    def __init__(
        self,
        predictions: FrameQueue,
        labels: list[str],
        stop: threading.Event,
        stats: PipelineStats,
        k: int = 3,
        sinks: list[Sink] | None = None,
        source_name: str = "",
        segment_prefix: str = "stream",
    ):
        self.predictions, self.labels, self.stop, self.stats, self.k = predictions, labels, stop, stats, k
        self.sinks, self.source_name = list(sinks or []), source_name
        self.quit_by_key = False  # set by the orchestrator when q in the window ended the stream
        self.reader_gone = False  # the reader of the results on stdout went away
        self.cpu_s = 0.0
        self.finished_at: float | None = None  # time.monotonic() when run() returned
        self.error: str | None = None  # a failed write (recording or results): the run stops
        self.segments = SegmentTracker(segment_prefix)  # segment ids: <prefix>-1, <prefix>-2, ...
        self.guard = SinkGuard()  # a failing sink is counted, never the end of the run
        self._t0: float | None = None

    @property
    def _draw(self) -> bool:
        return any(sink.wants_image for sink in self.sinks)

    def handle(self, prediction: Prediction) -> None:
        now = time.monotonic()
        if self._t0 is None:
            self._t0 = prediction.frame.captured_at
        status = "" if self.stats.source_state is SourceState.STREAMING else str(self.stats.source_state)
        if self._draw:
            annotated = draw_overlay(prediction, self.labels, self.k, self.stats.display_fps.rate(now), status)
        else:  # nobody looks at the picture (no window, recording or viewer): skip the copy and drawing
            annotated = prediction.frame.image
        latency_ms = (time.monotonic() - prediction.frame.captured_at) * 1000
        self.stats.latency_ms.add(latency_ms)
        self.stats.display_fps.tick(now)
        self.stats.label = prediction.label
        self.stats.top_k = top_k(prediction.smoothed, self.labels, self.k)
        # a file's segments sit on the video's own timeline, a live source's on the clock
        position = prediction.frame.position_s
        timeline_s = prediction.frame.captured_at - self._t0 if position is None else position
        wall_time = time.time() - (time.monotonic() - prediction.frame.captured_at)  # the capture, on the wall clock
        ended, started = self.segments.add(prediction.frame.index, timeline_s, self.stats.label, wall_time)
        if self.sinks:  # someone takes the frame's one record
            self._to_sinks(self._result(prediction, annotated, latency_ms, wall_time), ended, started)

    def _result(self, prediction: Prediction, annotated, latency_ms: float, wall_time: float) -> FrameResult:
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
            frame=frame.image,
            scene_cut=prediction.scene_cut,
            classified=prediction.classified,
            wall_time=wall_time,
        )

    def _to_sinks(self, result: FrameResult, ended, started) -> None:
        events = []
        if ended is not None:
            events.append(self._segment_event(EventKind.END, ended))
        if started is not None:
            events.append(self._segment_event(EventKind.START, started, result.confidence))
        for sink in self.sinks:
            for event in events:
                self.guard.call(sink, sink.on_segment, event)
            self.guard.call(sink, sink.on_frame, result)

    def _segment_event(self, kind: EventKind, segment: Segment, confidence: float | None = None) -> SegmentEvent:
        # a copy: the tracker goes on extending the segment it keeps
        return SegmentEvent(kind, self.source_name, dataclasses.replace(segment), confidence)

    def run(self) -> None:
        cpu_started = time.thread_time()
        try:
            while not self.stop.is_set():
                try:
                    item = self.predictions.get(timeout=0.05)
                except queue.Empty:
                    continue
                if item is END_OF_STREAM:
                    break
                if isinstance(item, StreamReset):
                    continue
                self.handle(item)
        except ReaderGone:  # the results' reader left (| head): this stream ends cleanly
            self.reader_gone = True
            self.stop.set()
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
            calls: list[tuple] = [(sink.on_segment, self._segment_event(EventKind.END, last))] if last is not None else []
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
        if not self.sinks:
            return
        try:
            self._close_sinks()
        except Exception as exc:  # noqa: BLE001  each output closed on its own first
            self._failed(exc)
