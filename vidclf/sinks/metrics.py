"""Prometheus metrics and a health check for a run, so a service manager can watch it.

:class:`RunMetrics` keeps the run's metrics in a registry of its own (no process-wide
state): per stream (label ``stream``) frames shown and classified, dropped frames,
reconnects, the display rate, capture->overlay latency and model inference time as
histograms, whether the source is streaming, the label shown now (one series per label, 1
for the current one) and its confidence. Each stream's :class:`MetricsSink` feeds it from
the renderer; the counters the grabber keeps are read when Prometheus scrapes.

:meth:`RunMetrics.health` says whether frames flow: every stream streaming and a frame shown
within its stall limit, else the reasons (``court1: reconnecting, no frame for 6.2 s``). The
browser view (``--serve``) and ``--metrics HOST:PORT`` answer ``/metrics`` and ``/healthz``
(200, or 503 with the reasons).

Usage::

    metrics = RunMetrics()
    sink = metrics.stream("court1", stats, frames_queue, stall_s=5.0)   # one of the stream's sinks
    metrics.exposition()    # the text format Prometheus scrapes
    metrics.health()        # (True, []) or (False, ["court1: reconnecting, no frame for 6.2 s"])
"""

from __future__ import annotations

import threading
import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from vidclf.core.frame_queue import FrameQueue
from vidclf.core.metrics import PipelineStats
from vidclf.core.records import FrameResult
from vidclf.core.states import SourceState
from vidclf.sinks.events import Sink

CONTENT_TYPE = CONTENT_TYPE_LATEST
LATENCY_BUCKETS_S = (0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0)
INFERENCE_BUCKETS_S = (0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0)


class RunMetrics:
    """The metrics of every stream of one run."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        per_stream = ["stream"]
        r = self.registry
        self.frames = Counter("vidclf_frames", "frames shown (classified or carrying the latest label)", per_stream, registry=r)
        self.classified = Counter("vidclf_frames_classified", "frames the model classified", per_stream, registry=r)
        self.dropped = Gauge("vidclf_frames_dropped", "frames a live source dropped (queue full)", per_stream, registry=r)
        self.reconnects = Gauge("vidclf_reconnects", "times the source was reopened", per_stream, registry=r)
        self.fps = Gauge("vidclf_fps", "frames shown per second, recent", per_stream, registry=r)
        self.up = Gauge("vidclf_source_up", "1 while the source is streaming", per_stream, registry=r)
        self.latency = Histogram(
            "vidclf_latency_seconds", "capture -> overlay latency", per_stream, buckets=LATENCY_BUCKETS_S, registry=r
        )
        self.inference = Histogram(
            "vidclf_inference_seconds", "model time per classified frame", per_stream, buckets=INFERENCE_BUCKETS_S, registry=r
        )
        self.label = Gauge("vidclf_label", "1 for the label shown now", ["stream", "label"], registry=r)
        self.confidence = Gauge("vidclf_confidence", "confidence of the label shown now", per_stream, registry=r)
        self._sinks: list[MetricsSink] = []
        self._lock = threading.Lock()

    def stream(self, name: str, stats: PipelineStats, frames: FrameQueue, stall_s: float) -> MetricsSink:
        """The sink that feeds one stream's metrics (``stall_s``: no frame for this long is unhealthy)."""
        self.dropped.labels(name).set_function(lambda: frames.dropped)
        self.reconnects.labels(name).set_function(lambda: stats.reconnects)
        self.fps.labels(name).set_function(lambda: stats.display_fps.rate())
        self.up.labels(name).set_function(lambda: float(stats.source_state is SourceState.STREAMING))
        sink = MetricsSink(self, name, stats, stall_s)
        with self._lock:
            self._sinks.append(sink)
        return sink

    def exposition(self) -> bytes:
        return generate_latest(self.registry)

    def health(self) -> tuple[bool, list[str]]:
        """(healthy, reasons): healthy while every stream streams and shows frames."""
        with self._lock:
            sinks = list(self._sinks)
        reasons = [reason for sink in sinks if (reason := sink.problem()) is not None]
        return not reasons, reasons


class MetricsSink(Sink):
    """One stream's side of :class:`RunMetrics`: counts and times each frame it is given."""

    output_name = "metrics"

    def __init__(self, metrics: RunMetrics, name: str, stats: PipelineStats, stall_s: float):
        self.metrics, self.name, self.stats, self.stall_s = metrics, name, stats, stall_s
        self.started = time.monotonic()
        self.last_frame_at: float | None = None
        self._label: str | None = None
        self.ended = False

    def on_frame(self, result: FrameResult) -> None:
        m, name = self.metrics, self.name
        self.last_frame_at = time.monotonic()
        m.frames.labels(name).inc()
        m.latency.labels(name).observe(result.latency_ms / 1000)
        if result.classified:
            m.classified.labels(name).inc()
            m.inference.labels(name).observe(result.infer_ms / 1000)
        if result.label != self._label:
            if self._label is not None:
                m.label.labels(name, self._label).set(0)
            m.label.labels(name, result.label).set(1)
            self._label = result.label
        m.confidence.labels(name).set(result.confidence)

    def close(self) -> None:
        self.ended = True

    def problem(self) -> str | None:
        """Why this stream is not healthy now, or None."""
        if self.ended:
            return None  # a file that has ended is done, not stalled
        state = self.stats.source_state
        since = time.monotonic() - (self.last_frame_at or self.started)
        if state is not SourceState.STREAMING:
            return f"{self.name}: {state}, no frame for {since:.1f} s"
        if since > self.stall_s:
            return f"{self.name}: no frame for {since:.1f} s"
        return None
