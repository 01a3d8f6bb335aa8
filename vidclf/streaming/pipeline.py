"""Wire the stages together and run them: grabber -> predictor -> renderer (+ dashboard).

Everything the user can get wrong is checked before any thread starts or any output file
is touched (output paths, model, labels, display, source), so bad input ends in one error
line. Then the grabber and predictor run on threads, the renderer on the main thread, and
one stop event ends them all. Every catchable termination signal (SIGINT, SIGTERM, SIGHUP,
...) sets that event instead of killing the process, so the recording and results file are
always finalised; during start-up a signal ends the run at once.

Usage::

    from vidclf.config import load_config
    from vidclf.streaming.pipeline import run_pipeline
    summary = run_pipeline(load_config())
    summary.frames_shown, summary.ended_by
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
from rich.console import Console

from vidclf.config import Config, SmoothingConfig
from vidclf.core.frame_queue import FrameQueue
from vidclf.core.metrics import PipelineStats
from vidclf.errors import VidclfError
from vidclf.redact import redact
from vidclf.runtime.classifier import Classifier, default_labels_path, load_classifier
from vidclf.sinks.dashboard import Dashboard
from vidclf.sinks.events import Sink
from vidclf.sinks.mqtt import MqttSink, check_broker, check_topic_prefix
from vidclf.sinks.outputs import STDOUT, check_outputs, summary_path
from vidclf.sinks.progress import ProgressSink
from vidclf.sinks.record import Recorder
from vidclf.sinks.results import ResultsWriter
from vidclf.sinks.serve import ServeSink, check_token, parse_address
from vidclf.sinks.subtitles import SrtSink, check_srt_path
from vidclf.sinks.terminal import safe_print, write_text
from vidclf.sinks.timeline import TimelineSink, check_timeline_path
from vidclf.sinks.webhook import WebhookSink, check_url
from vidclf.sinks.window import Window, display_available
from vidclf.streaming.decoding import FrameLabeler, LabelDecoder
from vidclf.streaming.predictor import Channel, SharedPredictor
from vidclf.streaming.renderer import Renderer
from vidclf.streaming.scene_cut import SceneCutDetector
from vidclf.streaming.smoothing import make_smoother
from vidclf.streaming.source import FrameGrabber, SourceSpec, open_source_interruptibly, parse_source

JOIN_TIMEOUT_S = 5.0
GRABBER_JOIN_TIMEOUT_S = 1.0


@dataclass
class RunSummary:
    source: str
    ended_by: str  # "end of stream" | "q" | "SIGINT" | "SIGTERM" | "error"
    frames_read: int
    frames_shown: int
    frames_dropped: int
    reconnects: int
    elapsed_s: float
    frames_classified: int = 0  # seen by the model; others carried the latest label (classify_fps, live backlog)
    source_fps: float | None = None  # as the source reports it (None: unknown)
    # CPU seconds per stage (each stage's own thread), and "other": the rest of the process
    # while streaming (the inference library's worker threads, dashboard, sinks' threads)
    stage_cpu_s: dict[str, float] = field(default_factory=dict)
    cpu_s: float = 0.0  # process CPU time (all threads) while streaming, model loading excluded
    recording: str | None = None
    frames_recorded: int = 0
    recording_fps: float | None = None
    letterboxed_frames: int = 0  # recorded after the source came back at another resolution
    results: str | None = None
    segments: list[dict] = field(default_factory=list)
    inference_ms_p50: float = 0.0
    latency_ms_p50: float = 0.0
    latency_ms_p95: float = 0.0
    error: str | None = None
    threads_alive: list[str] = field(default_factory=list)
    output_failures: list[str] = field(default_factory=list)  # outputs that failed and were skipped (the run went on)
    frames_declared: int | None = None  # a file's frame count as its container states it


def termination_signals() -> list[signal.Signals]:
    """Every signal whose default action ends the process and that a program may catch:
    each must finalise the run like SIGTERM (a closed terminal sends SIGHUP)."""
    names = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGALRM", "SIGVTALRM", "SIGPROF", "SIGXCPU")
    return [getattr(signal, name) for name in names if hasattr(signal, name)]


class _StartupInterrupted(Exception):
    pass


class _SignalStop:
    """Turn termination signals into setting the stop event (handlers restored on exit).

    While ``raising`` (start-up: loading the model, opening the source) the handler also
    raises, so that a signal is honoured at once even in the middle of a long Python call;
    nothing needs finalising then.
    """

    def __init__(self, stop: threading.Event):
        self.stop = stop
        self.received: str | None = None
        self.raising = True
        self._previous: dict[int, object] = {}

    def _handler(self, signum, _frame) -> None:
        self.received = self.received or signal.Signals(signum).name
        self.stop.set()
        if self.raising:
            raise _StartupInterrupted(self.received)

    def __enter__(self) -> _SignalStop:
        if threading.current_thread() is threading.main_thread():
            for sig in termination_signals():
                try:
                    self._previous[sig] = signal.signal(sig, self._handler)
                except (OSError, ValueError):  # not catchable on this platform
                    pass
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def make_decoder(cfg: SmoothingConfig, labels: list[str], model_thresholds: dict[str, float] | None = None) -> LabelDecoder:
    """The decoder of ``cfg``; the model's own per-class thresholds apply unless the config
    sets the same class."""
    thresholds = {**(model_thresholds or {}), **cfg.class_thresholds}
    try:
        return LabelDecoder(labels, cfg.uncertain_below, thresholds, cfg.hysteresis_s, cfg.min_segment_s, cfg.background_labels)
    except ValueError as exc:
        raise VidclfError(f"smoothing.class_thresholds: {exc}") from None


def _want_window(mode: str) -> bool:
    if mode == "off":
        return False
    available = display_available()
    if mode == "on" and not available:
        display = os.environ.get("DISPLAY")
        why = f"no X server answers at DISPLAY={display}" if display else "DISPLAY is not set"
        raise VidclfError(f"display.window is 'on' but no display is available ({why}); use --no-display")
    return available


def open_window(cfg: Config, console: Console, wanted: bool) -> Window | None:
    """The window when ``wanted`` (what :func:`_want_window` said) and OpenCV can open one,
    else None (headless)."""
    if not wanted:
        return None
    try:
        return Window(cfg.display.window_name, cfg.display.max_width)
    except cv2.error as exc:
        if cfg.display.window == "on":
            raise VidclfError(f"cannot open a window: {str(exc).strip().splitlines()[-1]}") from None
        safe_print(console, "no window: this OpenCV build cannot open one; running headless", style="yellow")
        return None


def _want_progress(cfg: Config, info, dashboard_on: bool) -> bool:
    """A progress bar for a file replayed without the dashboard (auto: stderr is a terminal)."""
    if cfg.dashboard.progress == "off" or dashboard_on or not info.finite:
        return False
    return cfg.dashboard.progress == "on" or sys.stderr.isatty()


def _inputs(cfg: Config, spec: SourceSpec, config_path: str | Path | None) -> dict[str, str | Path | None]:
    return {
        "source video": spec.value if spec.kind == "file" else None,
        "model": cfg.model.path,
        "labels": cfg.model.labels or default_labels_path(cfg.model.path),
        "config": config_path,
    }


def run_pipeline(
    cfg: Config,
    console: Console | None = None,
    classifier: Classifier | None = None,
    config_path: str | Path | None = None,
    stop: threading.Event | None = None,
    sinks: list[Sink] | None = None,
) -> RunSummary:
    """Run the whole pipeline until the stream ends, ``q``, a signal, ``stop`` or an error.

    ``classifier`` replaces loading ``cfg.model.path`` (benchmarks pass a stand-in to measure
    the pipeline's own cost). ``config_path`` is the config file in use (no output may
    overwrite it). ``sinks`` receive every frame and label change besides the ones the
    config asks for (the Python API's iterator is one); they are closed at the end.
    """
    console = console or Console()
    stop = stop or threading.Event()
    with _SignalStop(stop) as signals:
        try:
            prepared = _prepare(cfg, classifier, config_path, stop)
        except _StartupInterrupted:
            prepared = None
        except BaseException:
            _close_quietly(sinks or [])
            raise
        signals.raising = False
        if prepared is None or stop.is_set():  # stopped before the first frame: nothing to finalise
            _close_quietly(sinks or [])
            if prepared is not None:
                prepared.release()
            return RunSummary(redact(cfg.source.source), signals.received or "stopped", 0, 0, 0, 0, 0.0)
        return _stream(cfg, console, stop, signals, list(sinks or []), prepared)


def _close_quietly(sinks: list[Sink]) -> None:
    for sink in sinks:
        try:
            sink.close()
        except Exception:  # noqa: BLE001  nothing ran; a sink's complaint would hide the real error
            pass


def check_sink_settings(cfg: Config) -> None:
    """Bad event-sink or browser-view settings end the run before anything starts."""
    if cfg.events.webhook:
        check_url(cfg.events.webhook)
    if cfg.events.mqtt:
        check_broker(cfg.events.mqtt)
        check_topic_prefix(cfg.events.mqtt_topic)
    if cfg.serve.address:
        parse_address(cfg.serve.address)
        check_token(cfg.serve.token)
    if cfg.output.srt:
        check_srt_path(cfg.output.srt)
    if cfg.output.timeline:
        check_timeline_path(cfg.output.timeline)


def make_sinks(cfg: Config, spec: SourceSpec, labels: list[str]) -> list[Sink]:
    """The sinks the config asks for, started (a failure closes those already started)."""
    name = cfg.events.name or spec.safe_name  # a topic level: no URL, no credentials
    factories = []
    if cfg.output.srt:
        factories.append(lambda: SrtSink(cfg.output.srt))
    if cfg.output.timeline:
        factories.append(lambda: TimelineSink(cfg.output.timeline, cfg.smoothing.uncertain_below, str(spec)))
    if cfg.events.webhook:
        factories.append(lambda: WebhookSink(cfg.events.webhook, cfg.events.webhook_timeout_s, cfg.events.webhook_retries))
    if cfg.events.mqtt:
        factories.append(lambda: MqttSink(cfg.events.mqtt, cfg.events.mqtt_topic, name))
    if cfg.serve.address:
        serve = cfg.serve
        factories.append(lambda: ServeSink(serve.address, serve.token, serve.max_fps, serve.jpeg_quality, str(spec), labels))
    sinks: list[Sink] = []
    try:
        for factory in factories:
            sinks.append(factory())
    except BaseException:
        _close_quietly(sinks)
        raise
    return sinks


def output_paths(cfg: Config, of: str = "") -> dict[str, str | Path | None]:
    """Every file a run of ``cfg`` writes, by the name its errors give it (``of``: which
    stream, e.g. " of court1")."""
    results = cfg.output.results
    return {
        f"recording{of}": cfg.output.video,
        f"results{of}": results,
        f"results summary{of}": summary_path(results) if results and results != STDOUT else None,
        f"subtitles{of}": cfg.output.srt,
        f"timeline picture{of}": cfg.output.timeline,
    }


@dataclass
class Prepared:
    """What :func:`_prepare` checked, loaded and opened for one stream."""

    spec: SourceSpec
    classifier: Classifier
    decoder: LabelDecoder
    show_window: bool
    capture: object  # cv2.VideoCapture, open
    info: object  # SourceInfo
    first_frame: object

    def release(self) -> None:
        self.capture.release()


def _prepare(cfg: Config, classifier: Classifier | None, config_path, stop: threading.Event) -> Prepared | None:
    """Every check that can fail on bad input, before any output file is touched; then the
    source is opened (None: a stop came first)."""
    spec = parse_source(cfg.source.source)
    check_outputs(output_paths(cfg), _inputs(cfg, spec, config_path), cfg.output.overwrite)
    check_sink_settings(cfg)
    if cfg.output.video:
        Recorder(cfg.output.video, None)  # validates the extension before anything starts
    if cfg.output.results:
        ResultsWriter.check_suffix(cfg.output.results)
    if classifier is None:
        classifier = load_classifier(cfg.model.path, cfg.model.labels, cfg.model.threads)
    # per-class thresholds must name its classes; the model's own come with it
    decoder = make_decoder(cfg.smoothing, classifier.labels, getattr(classifier, "class_thresholds", None))
    show_window = _want_window(cfg.display.window)
    opened = open_source_interruptibly(spec, cfg.source, stop)
    if opened is None:
        return None
    return Prepared(spec, classifier, decoder, show_window, *opened)


@dataclass
class StreamParts:
    """One stream's stages, built and not started: its grabber, its predictor channel, its
    renderer and their queues (several streams share one predictor)."""

    cfg: Config
    spec: SourceSpec
    info: object
    stats: PipelineStats
    frames: FrameQueue
    grabber: FrameGrabber
    channel: Channel
    renderer: Renderer
    recorder: Recorder | None
    dashboard_on: bool


def build_stream(cfg, console, stop, sinks, prepared: Prepared) -> StreamParts:
    """Everything one stream needs, from an opened source; on failure the source is released
    and every output opened so far is closed."""
    spec, classifier, capture, info = prepared.spec, prepared.classifier, prepared.capture, prepared.info
    stats = PipelineStats()
    live = not info.finite or cfg.source.realtime
    # A file may queue enough frames to fill two model batches: blocking mode adds no latency
    # that matters there, and full batches are ~2x faster per frame (Keras, 2 cores).
    queue_size = cfg.source.queue_size if live else max(cfg.source.queue_size, 2 * cfg.model.max_batch)
    frames = FrameQueue(queue_size, drop_oldest=live)
    predictions = FrameQueue(cfg.source.queue_size, drop_oldest=False)
    smoother = make_smoother(cfg.smoothing.mode, cfg.smoothing.size, cfg.smoothing.ema_alpha, cfg.smoothing.window_s)
    cuts = SceneCutDetector(cfg.smoothing.scene_cut_threshold) if cfg.smoothing.scene_cut else None

    recorder = Recorder(cfg.output.video, cfg.output.fps or info.fps) if cfg.output.video else None
    results = None
    window = None
    try:
        # sinks first: a browser view on a busy port must fail before any output file exists
        sinks = make_sinks(cfg, spec, classifier.labels) + sinks
        window = open_window(cfg, console, prepared.show_window)
        results = ResultsWriter(cfg.output.results) if cfg.output.results else None
    except BaseException:
        capture.release()
        if results is not None:
            results.close()
        _close_quietly(sinks)
        raise
    for sink in sinks:
        sink.on_start(live)  # "live" is decided here, once, for every output
        if isinstance(sink, ServeSink):  # stderr: stdout may be carrying --results -
            write_text(f"browser view: {sink.url}\n", sys.stderr)

    grabber = FrameGrabber(spec, capture, info, prepared.first_frame, cfg.source, frames, stop, stats)
    labeler = FrameLabeler(smoother, prepared.decoder)
    channel = Channel(frames, predictions, stats, labeler, stop, cuts, cfg.model.classify_fps, live)
    name = cfg.events.name or spec.short_name
    renderer = Renderer(predictions, classifier.labels, stop, stats, cfg.display.top_k, window, recorder, results, sinks, name)
    # results on stdout (--results -) and a dashboard on the same terminal would interleave
    auto_dashboard = cfg.dashboard.enabled == "auto" and console.is_terminal and cfg.output.results != STDOUT
    dashboard_on = cfg.dashboard.enabled == "on" or auto_dashboard
    if _want_progress(cfg, info, dashboard_on):
        total = None if cfg.source.loop else info.frame_count
        renderer.sinks.append(ProgressSink(total, spec.short_name))
    return StreamParts(cfg, spec, info, stats, frames, grabber, channel, renderer, recorder, dashboard_on)


def summarise_stream(parts: StreamParts, predictor_error: str | None, signal: str | None, elapsed_s: float) -> RunSummary:
    """The run summary of one stream (CPU figures are the process's: filled in by the caller)."""
    renderer, grabber = parts.renderer, parts.grabber
    error = renderer.error or grabber.error or predictor_error
    if signal:
        ended_by = signal
    elif renderer.quit_by_key:
        ended_by = "q"
    elif error:
        ended_by = "error"
    else:
        ended_by = "end of stream"
    recorder, stats = parts.recorder, parts.stats
    return RunSummary(
        source=str(parts.spec),
        ended_by=ended_by,
        frames_read=grabber.frames_read,
        frames_shown=stats.display_fps.count,
        frames_dropped=parts.frames.dropped,
        frames_classified=parts.channel.frames_classified,
        source_fps=parts.info.fps,
        reconnects=stats.reconnects,
        elapsed_s=elapsed_s,
        recording=parts.cfg.output.video,
        frames_recorded=recorder.frames if recorder else 0,
        recording_fps=recorder.fps if recorder else None,
        letterboxed_frames=recorder.resized_frames if recorder else 0,
        results=parts.cfg.output.results,
        segments=renderer.segments.as_dicts(),
        inference_ms_p50=stats.infer_ms.percentile(50),
        latency_ms_p50=stats.latency_ms.percentile(50),
        latency_ms_p95=stats.latency_ms.percentile(95),
        error=error,
        output_failures=renderer.guard.describe(),
        frames_declared=parts.info.frame_count if parts.info.finite and not parts.cfg.source.loop else None,
    )


def _stream(cfg, console, stop, signals, sinks, prepared: Prepared) -> RunSummary:
    parts = build_stream(cfg, console, stop, sinks, prepared)
    predictor = SharedPredictor(prepared.classifier, [parts.channel], stop, cfg.model.max_batch, cfg.model.input_fit)
    grabber, renderer = parts.grabber, parts.renderer
    started, cpu_started = time.monotonic(), time.process_time()
    dashboard = Dashboard(
        parts.stats,
        parts.frames,
        stop,
        parts.spec.short_name,
        cfg.model.path,
        cfg.dashboard.refresh_hz,
        parts.dashboard_on,
        console,
    )
    with dashboard:
        grabber.start()
        predictor.start()
        try:
            renderer.run()
        finally:
            stop.set()
            predictor.join(JOIN_TIMEOUT_S)
            # A grabber stuck in a native read of a stalled stream ends within read_timeout_s
            # by itself; a stop request must not wait for it (it is a daemon thread).
            grabber.join(GRABBER_JOIN_TIMEOUT_S)

    summary = summarise_stream(parts, predictor.error, signals.received, time.monotonic() - started)
    summary.cpu_s = time.process_time() - cpu_started
    summary.stage_cpu_s = {"grabber": grabber.cpu_s, "predictor": predictor.cpu_s, "renderer": renderer.cpu_s}
    summary.stage_cpu_s["other"] = max(0.0, summary.cpu_s - sum(summary.stage_cpu_s.values()))
    finite = parts.info.finite
    summary.threads_alive = [t.name for t in (grabber, predictor) if t.is_alive() and not (t is grabber and not finite)]
    return summary


def print_summary(summary: RunSummary, file=None, cpu: bool = True) -> None:
    """Plain-text end-of-run report (stdout by default); a reader that is gone is ignored.
    ``cpu=False``: leave out the process's CPU figures (several streams share them)."""
    fps = summary.frames_shown / summary.elapsed_s if summary.elapsed_s > 0 else 0.0
    cpu_ms = 1000 * summary.cpu_s / summary.frames_shown if summary.frames_shown else 0.0
    lines = [
        f"source: {summary.source}",
        f"ended by: {summary.ended_by}; frames read {summary.frames_read}, shown {summary.frames_shown}, "
        f"classified {summary.frames_classified}, dropped {summary.frames_dropped}, reconnects {summary.reconnects}; "
        f"{summary.elapsed_s:.1f} s ({fps:.1f} FPS)",
        f"inference p50 {summary.inference_ms_p50:.1f} ms; capture->overlay latency p50 {summary.latency_ms_p50:.1f} ms, "
        f"p95 {summary.latency_ms_p95:.1f} ms" + (f"; CPU {cpu_ms:.1f} ms/frame (all threads)" if cpu else ""),
    ]
    if summary.stage_cpu_s and summary.frames_shown and cpu:
        per_frame = ", ".join(f"{k} {1000 * v / summary.frames_shown:.1f}" for k, v in summary.stage_cpu_s.items())
        lines.append(f"CPU ms/frame by stage: {per_frame} (other: inference and decoder worker threads, dashboard, sinks)")
    if summary.recording:
        lines.append(f"recording: {summary.recording} ({summary.frames_recorded} frames at {summary.recording_fps or 0:.2f} FPS)")
        if summary.letterboxed_frames:
            lines.append(
                f"warning: the source came back at another resolution; {summary.letterboxed_frames} frames "
                "were letterboxed into the recording's size"
            )
    if summary.results and summary.results != STDOUT:
        lines.append(f"results: {summary.results} (+ .summary.json)")
    for failure in summary.output_failures:
        lines.append(f"warning: {failure}")
    if summary.threads_alive:
        lines.append(f"warning: threads still running at exit: {', '.join(summary.threads_alive)}")
    for seg in summary.segments:
        span = f"{seg['start_s']:.2f}-{seg['end_s']:.2f} s"
        lines.append(f"  frames {seg['first_frame']:>6}-{seg['last_frame']:<6} {span:>18}  {seg['label']}")
    write_text("\n".join(lines) + "\n", file or sys.stdout)
