"""Wire the stages together and run them: grabber -> predictor -> renderer (+ dashboard).

Everything the user can get wrong is checked before any thread starts (output paths, model,
labels, source), so bad input ends in one error line. Then the grabber and predictor run on
threads, the renderer on the main thread, and one stop event ends them all. SIGINT and
SIGTERM set that event instead of killing the process, so the recording and results file are
always finalised.

Usage::

    from vidclf.config import load_config
    from vidclf.pipeline import run_pipeline
    summary = run_pipeline(load_config())
    summary.frames_shown, summary.ended_by
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from dataclasses import dataclass, field

import cv2
from rich.console import Console

from vidclf.classifier import Classifier, load_classifier
from vidclf.config import Config
from vidclf.dashboard import Dashboard
from vidclf.errors import VidclfError
from vidclf.frame_queue import FrameQueue
from vidclf.metrics import PipelineStats
from vidclf.predictor import Predictor
from vidclf.record import Recorder, check_writable
from vidclf.render import Window, display_available
from vidclf.renderer import Renderer
from vidclf.results import ResultsWriter
from vidclf.smoothing import make_smoother
from vidclf.source import FrameGrabber, open_source, parse_source

JOIN_TIMEOUT_S = 5.0


@dataclass
class RunSummary:
    source: str
    ended_by: str  # "end of stream" | "q" | "SIGINT" | "SIGTERM" | "error"
    frames_read: int
    frames_shown: int
    frames_dropped: int
    reconnects: int
    elapsed_s: float
    cpu_s: float = 0.0  # process CPU time (all threads) while streaming, model loading excluded
    recording: str | None = None
    frames_recorded: int = 0
    recording_fps: float | None = None
    results: str | None = None
    segments: list[dict] = field(default_factory=list)
    inference_ms_p50: float = 0.0
    latency_ms_p50: float = 0.0
    latency_ms_p95: float = 0.0
    error: str | None = None
    threads_alive: list[str] = field(default_factory=list)


class _SignalStop:
    """Turn SIGINT/SIGTERM into setting the stop event (restored on exit)."""

    def __init__(self, stop: threading.Event):
        self.stop = stop
        self.received: str | None = None
        self._previous: dict[int, object] = {}

    def _handler(self, signum, _frame) -> None:
        self.received = signal.Signals(signum).name
        self.stop.set()

    def __enter__(self) -> _SignalStop:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handler)
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def _want_window(mode: str) -> bool:
    if mode == "off":
        return False
    if mode == "on" and not display_available():
        raise VidclfError("display.window is 'on' but no display is available (DISPLAY is not set); use --no-display")
    return display_available()


def run_pipeline(cfg: Config, console: Console | None = None, classifier: Classifier | None = None) -> RunSummary:
    """Run the whole pipeline until the stream ends, ``q``, a signal or an error.

    ``classifier`` replaces loading ``cfg.model.path`` (benchmarks pass a stand-in to measure
    the pipeline's own cost).
    """
    console = console or Console()
    spec = parse_source(cfg.source.source)
    if cfg.output.video:
        check_writable(cfg.output.video, "recording")
        Recorder(cfg.output.video, None)  # validates the extension before anything starts
    if cfg.output.results:
        check_writable(cfg.output.results, "results")
    if classifier is None:
        classifier = load_classifier(cfg.model.path, cfg.model.labels, cfg.model.threads)
    show_window = _want_window(cfg.display.window)
    capture, info, first_frame = open_source(spec, cfg.source)

    stop = threading.Event()
    stats = PipelineStats()
    live = spec.live or cfg.source.realtime
    # A file may queue enough frames to fill two model batches: blocking mode adds no latency
    # that matters there, and full batches are ~2x faster per frame (Keras, 2 cores).
    queue_size = cfg.source.queue_size if live else max(cfg.source.queue_size, 2 * cfg.model.max_batch)
    frames = FrameQueue(queue_size, drop_oldest=live)
    predictions = FrameQueue(cfg.source.queue_size, drop_oldest=False)
    smoother = make_smoother(cfg.smoothing.mode, cfg.smoothing.size, cfg.smoothing.ema_alpha)

    recorder = Recorder(cfg.output.video, cfg.output.fps or info.fps) if cfg.output.video else None
    results = None
    window = None
    try:
        results = ResultsWriter(cfg.output.results, classifier.labels, cfg.display.top_k) if cfg.output.results else None
        if show_window:
            try:
                window = Window(cfg.display.window_name, cfg.display.max_width)
            except cv2.error as exc:
                if cfg.display.window == "on":
                    raise VidclfError(f"cannot open a window: {str(exc).strip().splitlines()[-1]}") from None
                console.print("[yellow]no window: this OpenCV build cannot open one; running headless")
    except BaseException:
        capture.release()
        if results is not None:
            results.close()
        raise

    grabber = FrameGrabber(spec, capture, info, first_frame, cfg.source, frames, stop, stats)
    predictor = Predictor(classifier, smoother, frames, predictions, stop, stats, cfg.model.max_batch)
    renderer = Renderer(predictions, classifier.labels, stop, stats, cfg.display.top_k, window, recorder, results)
    dashboard_on = cfg.dashboard.enabled == "on" or (cfg.dashboard.enabled == "auto" and console.is_terminal)
    started, cpu_started = time.monotonic(), time.process_time()
    with (
        _SignalStop(stop) as signals,
        Dashboard(stats, frames, stop, spec.short_name, cfg.model.path, cfg.dashboard.refresh_hz, dashboard_on, console),
    ):
        grabber.start()
        predictor.start()
        try:
            renderer.run()
        finally:
            stop.set()
            for thread in (predictor, grabber):
                thread.join(JOIN_TIMEOUT_S + cfg.source.open_timeout_s)

    error = grabber.error or predictor.error
    if signals.received:
        ended_by = signals.received
    elif renderer.quit_by_key:
        ended_by = "q"
    elif error:
        ended_by = "error"
    else:
        ended_by = "end of stream"
    return RunSummary(
        source=str(spec),
        ended_by=ended_by,
        frames_read=grabber.frames_read,
        frames_shown=stats.display_fps.count,
        frames_dropped=frames.dropped,
        reconnects=stats.reconnects,
        elapsed_s=time.monotonic() - started,
        cpu_s=time.process_time() - cpu_started,
        recording=cfg.output.video,
        frames_recorded=recorder.frames if recorder else 0,
        recording_fps=recorder.fps if recorder else None,
        results=cfg.output.results,
        segments=renderer.segments.as_dicts(),
        inference_ms_p50=stats.infer_ms.percentile(50),
        latency_ms_p50=stats.latency_ms.percentile(50),
        latency_ms_p95=stats.latency_ms.percentile(95),
        error=error,
        threads_alive=[t.name for t in (grabber, predictor) if t.is_alive()],
    )


def print_summary(summary: RunSummary, file=None) -> None:
    """Plain-text end-of-run report (stdout by default)."""
    out = file or sys.stdout
    fps = summary.frames_shown / summary.elapsed_s if summary.elapsed_s > 0 else 0.0
    cpu_ms = 1000 * summary.cpu_s / summary.frames_shown if summary.frames_shown else 0.0
    print(f"source: {summary.source}", file=out)
    print(
        f"ended by: {summary.ended_by}; frames read {summary.frames_read}, classified {summary.frames_shown}, "
        f"dropped {summary.frames_dropped}, reconnects {summary.reconnects}; {summary.elapsed_s:.1f} s ({fps:.1f} FPS)",
        file=out,
    )
    print(
        f"inference p50 {summary.inference_ms_p50:.1f} ms; capture->overlay latency p50 {summary.latency_ms_p50:.1f} ms, "
        f"p95 {summary.latency_ms_p95:.1f} ms; CPU {cpu_ms:.1f} ms/frame (all threads)",
        file=out,
    )
    if summary.recording:
        print(
            f"recording: {summary.recording} ({summary.frames_recorded} frames at {summary.recording_fps or 0:.2f} FPS)", file=out
        )
    if summary.results:
        print(f"results: {summary.results} (+ .summary.json)", file=out)
    if summary.threads_alive:
        print(f"warning: threads still running at exit: {', '.join(summary.threads_alive)}", file=out)
    for seg in summary.segments:
        span = f"{seg['start_s']:.2f}-{seg['end_s']:.2f} s"
        print(f"  frames {seg['first_frame']:>6}-{seg['last_frame']:<6} {span:>18}  {seg['label']}", file=out)
