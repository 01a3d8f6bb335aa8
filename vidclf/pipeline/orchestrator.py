"""One orchestrator for one source or many: grabbers -> shared predictor -> renderers.

Each stream has its own grabber thread, queues, schedule (``classify_fps``), smoothing and
decoding state, scene-cut detector, recording, results, segments, event outputs and stop
event: a stream that ends, loses its source for good, or cannot write its output stops alone;
the others go on. Every stream shares one predictor (:class:`~vidclf.streaming.predictor.PredictorPool`:
``min(model.inference_workers or model.threads, streams)`` inference threads, each with its
own copy of the model; a free thread serves whichever stream has frames waiting). One window
shows every stream (a grid from two streams on, :mod:`vidclf.sinks.mosaic`; the main thread
drives it, as OpenCV's GUI needs one thread); one server gives each a browser view; the
dashboard shows one table.

Everything the user can get wrong is checked before any thread starts or any output file is
touched (output paths, output settings, model, labels, display, sources), so bad input ends
in one error line. Every catchable termination signal sets the one stop event instead of
killing the process (:mod:`vidclf.pipeline.signals`), so recordings and results are always
finalised; during start-up a signal ends the run at once.

Output paths name each of several streams with ``{name}`` (``--results runs/{name}.jsonl``),
or a ``sources:`` entry sets its own ``video`` / ``results``.

Usage::

    from vidclf.config import load_config
    from vidclf.pipeline.orchestrator import run_pipeline
    summary = run_pipeline(load_config())             # cfg.sources, or cfg.source alone
    summary.streams[0].frames_shown, summary.ended_by
"""

from __future__ import annotations

import dataclasses
import logging
import os
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
from rich.console import Console

from vidclf.config import Config, SmoothingConfig, StreamConfig, override
from vidclf.core.frame_queue import FrameQueue
from vidclf.core.metrics import PipelineStats
from vidclf.core.records import iso_time
from vidclf.core.states import EndedBy, SourceKind
from vidclf.errors import VidclfError
from vidclf.pipeline.renderer import Renderer
from vidclf.pipeline.signals import SignalStop, StartupInterrupted
from vidclf.pipeline.summary import RunSummary, StreamSummary
from vidclf.runtime.classifier import Classifier, default_labels_path, load_classifier, model_sha256
from vidclf.sinks.dashboard import Dashboard
from vidclf.sinks.events import Sink
from vidclf.sinks.metrics import RunMetrics
from vidclf.sinks.mosaic import Mosaic
from vidclf.sinks.outputs import STDOUT, check_outputs, summary_path
from vidclf.sinks.progress import ProgressSink
from vidclf.sinks.record import Recorder, RecordingSink
from vidclf.sinks.serve import BrowserView, MetricsServer, StreamView
from vidclf.sinks.table import StreamContext, check_settings, close_quietly, open_sinks
from vidclf.sinks.terminal import safe_print, write_text
from vidclf.sinks.window import Window, display_available
from vidclf.streaming.change_gate import ChangeGate
from vidclf.streaming.decoding import FrameLabeler, LabelDecoder
from vidclf.streaming.predictor import Channel, PredictorPool
from vidclf.streaming.scene_cut import SceneCutDetector
from vidclf.streaming.smoothing import make_smoother
from vidclf.streaming.source import (
    FrameGrabber,
    SourceInfo,
    SourceSpec,
    decoding_threads,
    open_source_interruptibly,
    parse_source,
    safe_name,
    waits_forever,
)

log = logging.getLogger("vidclf")

JOIN_TIMEOUT_S = 5.0
GRABBER_JOIN_TIMEOUT_S = 1.0
DISPLAY_INTERVAL_S = 0.04  # the window is redrawn ~25 times a second, whatever the streams' rates
NAME_FIELD = "{name}"


@dataclass(frozen=True)
class StreamPlan:
    """One stream to run: its name (window grid, dashboard, browser view) and its own config
    (its source, rate cap and output paths; no window or dashboard of its own)."""

    name: str
    cfg: Config


def _named(template: str | None, name: str, key: str, several: bool) -> str | None:
    if template is None or not several:
        return template.replace(NAME_FIELD, name) if template and template != STDOUT else template
    if template == STDOUT:
        raise VidclfError(f"{key}: several sources cannot share standard output; use a file with {NAME_FIELD}")
    if NAME_FIELD not in template:
        raise VidclfError(f"{key} must contain {NAME_FIELD} with several sources (e.g. runs/{NAME_FIELD}.jsonl), got {template}")
    return template.replace(NAME_FIELD, name)


def plan_streams(cfg: Config) -> list[StreamPlan]:
    """One plan per ``sources:`` entry, or one for ``source.source`` when the list is empty."""
    entries = cfg.sources or [StreamConfig(source=cfg.source.source)]
    several = len(entries) > 1
    names: list[str] = []
    for i, stream in enumerate(entries):
        if not stream.source:
            raise VidclfError(f"sources[{i}].source is missing")
        # a name becomes part of file paths and topics: reduced to one safe path component
        base = safe_name(stream.name) if stream.name else parse_source(stream.source).safe_name
        name, n = base, 2
        while name in names:  # two cameras with the same stream path: court1, court1-2
            name, n = f"{base}-{n}", n + 1
        names.append(name)
    plans = []
    for stream, name in zip(entries, names, strict=True):
        values = {
            "source.source": stream.source,
            "model.classify_fps": stream.classify_fps,
            "output.video": stream.video or _named(cfg.output.video, name, "output.video", several),
            "output.results": stream.results or _named(cfg.output.results, name, "output.results", several),
            "output.srt": _named(cfg.output.srt, name, "output.srt", several),
            "output.timeline": _named(cfg.output.timeline, name, "output.timeline", several),
            # one stream keeps the user's --name (or none: the source's); several are told apart
            "events.name": name if several or stream.name else None,
            "dashboard.progress": "off" if several else None,  # one bar per file would fight over the terminal
            "source.decode_threads": decoding_threads(cfg.source.decode_threads, len(entries)),
        }
        stream_cfg = override(cfg, values)
        shown = stream_cfg.events.name or parse_source(stream.source).short_name
        plans.append(StreamPlan(shown, dataclasses.replace(stream_cfg, sources=[])))
    return plans


def output_paths(cfg: Config, of: str = "") -> dict[str, str | Path | None]:
    """Every file a stream of ``cfg`` writes, by the name its errors give it (``of``: which
    stream, e.g. " of court1")."""
    results = cfg.output.results
    return {
        f"recording{of}": cfg.output.video,
        f"results{of}": results,
        f"results summary{of}": summary_path(results) if results and results != STDOUT else None,
        f"subtitles{of}": cfg.output.srt,
        f"timeline picture{of}": cfg.output.timeline,
    }


def _check(cfg: Config, plans: list[StreamPlan], config_path) -> None:
    """Every check that can fail on bad settings, before a model loads or a source opens: no
    two streams write the same file, no output overwrites an input, every output's settings."""
    several = len(plans) > 1
    outputs: dict[str, str | Path | None] = {}
    inputs: dict[str, str | Path | None] = {
        "model": cfg.model.path,
        "labels": cfg.model.labels or default_labels_path(cfg.model.path),
        "config": config_path,
    }
    specs = [parse_source(plan.cfg.source.source) for plan in plans]
    for plan, spec in zip(plans, specs, strict=True):
        of = f" of {plan.name}" if several else ""
        outputs.update(output_paths(plan.cfg, of))
        inputs[f"source video{of}"] = spec.value if spec.kind is SourceKind.FILE else None
    check_outputs(outputs, inputs, cfg.output.overwrite)
    for plan, spec in zip(plans, specs, strict=True):
        check_settings(plan.cfg)
        if plan.cfg.source.decode_frames != "reference":
            continue
        if spec.kind is not SourceKind.FILE:
            # a camera's frames must all be decoded to be shown on time; the setting is kept
            # for the files of a config shared between sources, so it is not an error
            log.warning("source.decode_frames is reference, which reads video files only: %s is decoded in full", spec)
        elif plan.cfg.output.video:
            # allowed (a quick look at an archive run), but the user should know why it stutters
            log.warning(
                "source.decode_frames is reference: %s repeats the last decoded picture in place of each B-frame "
                "(it plays jerkily); decode every frame for a smooth recording", plan.cfg.output.video,
            )  # fmt: skip


def make_decoder(cfg: SmoothingConfig, labels: list[str], model_thresholds: dict[str, float] | None = None) -> LabelDecoder:
    """The decoder of ``cfg``; the model's own per-class thresholds apply unless the config
    sets the same class."""
    thresholds = {**(model_thresholds or {}), **cfg.class_thresholds}
    try:
        return LabelDecoder(labels, cfg.uncertain_below, thresholds, cfg.hysteresis_s, cfg.min_segment_s, cfg.background_labels)
    except ValueError as exc:
        raise VidclfError(f"smoothing.class_thresholds: {exc}") from None


def want_window(mode: str) -> bool:
    """Whether to open a window (``display.window``); "on" without a display is an error."""
    if mode == "off":
        return False
    available = display_available()
    if mode == "on" and not available:
        display = os.environ.get("DISPLAY")
        why = f"no X server answers at DISPLAY={display}" if display else "DISPLAY is not set"
        raise VidclfError(f"display.window is 'on' but no display is available ({why}); use --no-display")
    return available


def open_window(cfg: Config, console: Console, wanted: bool) -> Window | None:
    """The window when ``wanted`` and OpenCV can open one, else None (headless)."""
    if not wanted:
        return None
    try:
        return Window(cfg.display.window_name, cfg.display.max_width)
    except cv2.error as exc:
        if cfg.display.window == "on":
            raise VidclfError(f"cannot open a window: {str(exc).strip().splitlines()[-1]}") from None
        safe_print(console, "no window: this OpenCV build cannot open one; running headless", style="yellow")
        return None


def _load_models(cfg: Config, streams: int) -> list[Classifier]:
    """One copy of the model per inference thread, the CPU threads split between them."""
    workers = min(cfg.model.inference_workers or cfg.model.threads, streams)
    threads = max(1, cfg.model.threads // workers)
    return [load_classifier(cfg.model.path, cfg.model.labels, threads) for _ in range(workers)]


@dataclass
class Opened:
    """A planned stream whose source is open."""

    plan: StreamPlan
    spec: SourceSpec
    decoder: LabelDecoder
    capture: object  # cv2.VideoCapture, open
    info: object  # SourceInfo
    first_frame: object

    def release(self) -> None:
        if self.capture is not None:  # None: a live source waited for, not open yet
            self.capture.release()


@dataclass
class StreamParts:
    """One stream's stages, built and not started (every stream shares the predictor)."""

    name: str
    cfg: Config
    spec: SourceSpec
    info: object
    stats: PipelineStats
    frames: FrameQueue
    grabber: FrameGrabber
    channel: Channel
    renderer: Renderer
    recorder: Recorder | None


def run_pipeline(
    cfg: Config,
    console: Console | None = None,
    classifier: Classifier | None = None,
    config_path: str | Path | None = None,
    stop: threading.Event | None = None,
    sinks: list[Sink] | None = None,
) -> RunSummary:
    """Run every stream of ``cfg`` until each has ended, or ``q``, a signal or ``stop`` ends them all.

    ``classifier`` replaces loading ``cfg.model.path`` (benchmarks and the evaluation pass a
    loaded one). ``config_path`` is the config file in use (no output may overwrite it).
    ``sinks`` receive every frame and label change of a one-source run besides the outputs the
    config asks for (the Python API's iterator is one); they are closed at the end. An
    exception of a sink marked ``errors_end_run`` reaches the caller once everything is closed.
    """
    console = console or Console()
    stop = stop or threading.Event()
    extra = list(sinks or [])
    plans: list[StreamPlan] = []
    opened: list[Opened] = []
    with SignalStop(stop) as signals:
        try:
            plans = plan_streams(cfg)
            if extra and len(plans) > 1:
                raise VidclfError("extra sinks take a run of one source")
            _check(cfg, plans, config_path)
            show_window = want_window(cfg.display.window)  # "on" without a display fails before any camera is opened
            classifiers = [classifier] if classifier is not None else _load_models(cfg, len(plans))
            model_thresholds = getattr(classifiers[0], "class_thresholds", None)  # the model's own come with it
            for plan in plans:
                decoder = make_decoder(plan.cfg.smoothing, classifiers[0].labels, model_thresholds)
                spec = parse_source(plan.cfg.source.source)
                got = _open_or_wait(spec, plan.cfg, stop)
                if got is None:
                    break
                opened.append(Opened(plan, spec, decoder, *got))
        except StartupInterrupted:
            pass
        except BaseException:
            _release(opened)
            close_quietly(extra)
            raise
        signals.raising = False
        if not plans or len(opened) < len(plans) or stop.is_set():  # stopped before the first frame: nothing to finalise
            _release(opened)
            close_quietly(extra)
            sources = [plan.cfg.source.source for plan in plans] or [cfg.source.source]
            reason = signals.received or EndedBy.STOPPED
            return RunSummary([StreamSummary(str(parse_source(s)), reason, 0, 0, 0, 0, 0.0) for s in sources])
        return _start(cfg, console, stop, signals, classifiers, opened, show_window, extra)


def _open_or_wait(spec: SourceSpec, cfg: Config, stop: threading.Event):
    """The source opened (capture, info, first frame), None on stop; a live source that is
    down and waited for forever (``give_up_after_s = 0``) starts unopened: its grabber waits."""
    try:
        return open_source_interruptibly(spec, cfg.source, stop)
    except VidclfError as exc:
        if not waits_forever(spec, cfg.source):
            raise
        log.warning("%s; waiting for it (source.give_up_after_s = 0)", exc)
        return None, SourceInfo.not_yet_open(), None


def _release(opened: list[Opened]) -> None:
    for stream in opened:
        stream.release()


def _start(cfg, console, stop, signals, classifiers, opened: list[Opened], show_window: bool, extra: list[Sink]) -> RunSummary:
    """Open the shared outputs (window, browser view), build every stream, run them."""
    labels = classifiers[0].labels
    model = {"path": str(cfg.model.path), "sha256": model_sha256(cfg.model.path)}
    # results on stdout (--results -) and a dashboard on the same terminal would interleave
    auto_dashboard = cfg.dashboard.enabled == "auto" and console.is_terminal and cfg.output.results != STDOUT
    dashboard_on = cfg.dashboard.enabled == "on" or auto_dashboard
    stream_stops = [threading.Event() for _ in opened]
    parts: list[StreamParts] = []
    mosaic = view = metrics_server = None
    metrics = RunMetrics() if cfg.serve.address or cfg.serve.metrics else None
    try:
        window = open_window(cfg, console, show_window)  # once every source is open: no empty window while cameras connect
        mosaic = Mosaic([o.plan.name for o in opened], window) if window is not None else None
        # servers before any output file: a busy port fails first
        view = _browser_view(cfg, opened, labels, metrics)
        metrics_server = _metrics_server(cfg, metrics)
        for i, (stream, stream_stop) in enumerate(zip(opened, stream_stops, strict=True)):
            shared = ([mosaic.tiles[i]] if mosaic is not None else []) + ([view.views[stream.plan.name]] if view else [])
            parts.append(build_stream(stream, console, stream_stop, shared + extra, labels, dashboard_on, model, metrics))
    except BaseException:
        _release(opened[len(parts) :])
        for built in parts:
            if built.grabber.capture is not None:
                built.grabber.capture.release()
            built.renderer.close()
        if not parts:
            close_quietly(extra)
        _close_shared(mosaic, view, metrics_server)
        raise
    try:
        return _run(cfg, console, stop, stream_stops, signals, classifiers, parts, mosaic, dashboard_on)
    finally:
        _close_shared(mosaic, view, metrics_server)


def _browser_view(cfg: Config, opened: list[Opened], labels: list[str], metrics: RunMetrics | None) -> BrowserView | None:
    """One server for every stream's browser view (``--serve``), with /metrics and /healthz."""
    if not cfg.serve.address:
        return None
    serve = cfg.serve
    sources = {stream.plan.name: str(stream.spec) for stream in opened}
    view = BrowserView(serve.address, serve.token, sources, serve.max_fps, serve.jpeg_quality, labels, metrics)
    write_text(f"browser view: {view.url}\n", sys.stderr)  # stderr: stdout may carry --results -
    return view


def _metrics_server(cfg: Config, metrics: RunMetrics | None) -> MetricsServer | None:
    """``--metrics HOST:PORT``: /metrics and /healthz on a port of their own."""
    if not cfg.serve.metrics or metrics is None:
        return None
    server = MetricsServer(cfg.serve.metrics, cfg.serve.token, metrics)
    token = f" (bearer token {server.token})" if server.token else ""
    write_text(f"metrics: {server.url}{token}\n", sys.stderr)
    return server


def _close_shared(*shared) -> None:
    """The window and the servers, which outlive every stream's renderer."""
    for thing in shared:
        if thing is not None:
            thing.close()


def _want_progress(cfg: Config, info, dashboard_on: bool) -> bool:
    """A progress bar for a file replayed without the dashboard (auto: stderr is a terminal)."""
    if cfg.dashboard.progress == "off" or dashboard_on or not info.finite:
        return False
    return cfg.dashboard.progress == "on" or sys.stderr.isatty()


def _slug(cfg: Config, spec: SourceSpec) -> str:
    """The stream as a topic level and id prefix: no URL, no credentials."""
    return safe_name(cfg.events.name) if cfg.events.name else spec.safe_name


def _about(cfg: Config, spec: SourceSpec, decoder: LabelDecoder, model: dict) -> dict:
    """What a stream's summary says of its run, so that its results can be traced and matched:
    the source (credentials masked), the model file and its SHA-256, the settings that decide
    the labels, and the start on the wall clock."""
    settings = {
        "model": {
            key: getattr(cfg.model, key)
            for key in ("classify_fps", "classify_on_change", "change_threshold", "change_max_interval_s", "input_fit")
        },
        "smoothing": {**dataclasses.asdict(cfg.smoothing), "class_thresholds": dict(decoder.class_thresholds)},
        "source": {key: getattr(cfg.source, key) for key in ("realtime", "loop")},
    }
    return {"source": str(spec), "model": model, "started": iso_time(time.time()), "settings": settings}


def build_stream(
    stream: Opened,
    console: Console,
    stop: threading.Event,
    shared: list[Sink],
    labels: list[str],
    dashboard_on: bool,
    model: dict | None = None,
    metrics: RunMetrics | None = None,
) -> StreamParts:
    """Everything one stream needs, from an opened source; on failure the outputs it opened
    are closed (the source and ``shared`` are the caller's)."""
    cfg, spec, info = stream.plan.cfg, stream.spec, stream.info
    stats = PipelineStats()
    live = not info.finite or cfg.source.realtime
    # A file may queue enough frames to fill two model batches: blocking mode adds no latency
    # that matters there, and full batches are ~2x faster per frame (Keras, 2 cores).
    queue_size = cfg.source.queue_size if live else max(cfg.source.queue_size, 2 * cfg.model.max_batch)
    frames = FrameQueue(queue_size, drop_oldest=live)
    predictions = FrameQueue(cfg.source.queue_size, drop_oldest=False)
    smoother = make_smoother(cfg.smoothing.mode, cfg.smoothing.size, cfg.smoothing.ema_alpha, cfg.smoothing.window_s)
    cuts = SceneCutDetector(cfg.smoothing.scene_cut_threshold) if cfg.smoothing.scene_cut else None
    if metrics is not None:  # no frame for read_timeout_s: the health check says so
        shared = [*shared, metrics.stream(stream.plan.name, stats, frames, cfg.source.read_timeout_s)]

    own: list[Sink] = []
    try:
        about = _about(cfg, spec, stream.decoder, model)
        context = StreamContext(_slug(cfg, spec), str(spec), labels, info.fps, stats, about, stream.plan.name)
        own = open_sinks(cfg, context)
    except BaseException:
        close_quietly(own)  # the caller closes the shared ones and releases the source
        raise
    sinks = own + shared
    for sink in shared:
        if isinstance(sink, StreamView):  # the page shows the source's state (waiting, reconnecting)
            sink.stats = stats
    for sink in sinks:
        sink.on_start(live)  # "live" is decided here, once, for every output
    if _want_progress(cfg, info, dashboard_on):
        sinks.append(ProgressSink(None if cfg.source.loop else info.frame_count, spec.short_name))

    grabber = FrameGrabber(spec, stream.capture, info, stream.first_frame, cfg.source, frames, stop, stats)
    labeler = FrameLabeler(smoother, stream.decoder)
    gate = ChangeGate(cfg.model.change_threshold, cfg.model.change_max_interval_s) if cfg.model.classify_on_change else None
    channel = Channel(frames, predictions, stats, labeler, stop, cuts, cfg.model.classify_fps, live, gate)
    event_name = cfg.events.name or spec.short_name
    renderer = Renderer(predictions, labels, stop, stats, cfg.display.top_k, sinks, event_name, _slug(cfg, spec))
    recording = next((sink.recorder for sink in own if isinstance(sink, RecordingSink)), None)
    return StreamParts(stream.plan.name, cfg, spec, info, stats, frames, grabber, channel, renderer, recording)


def _render(renderer: Renderer, failures: list[BaseException]) -> None:
    """A renderer thread: an exception a sink lets through (a caller's callback) is kept for
    the main thread to raise once every stream is closed."""
    try:
        renderer.run()
    except BaseException as exc:  # noqa: BLE001  handed to the caller of run_pipeline
        failures.append(exc)


def _run(cfg, console, stop, stream_stops, signals, classifiers, parts: list[StreamParts], mosaic, dashboard_on) -> RunSummary:
    predictor = PredictorPool(classifiers, [p.channel for p in parts], stop, cfg.model.max_batch, cfg.model.input_fit)
    failures: list[BaseException] = []
    renderers = [
        threading.Thread(target=_render, args=(p.renderer, failures), name=f"renderer-{p.name}", daemon=True) for p in parts
    ]
    rows = [(p.name, p.stats, p.frames) for p in parts]
    started, cpu_started = time.monotonic(), time.process_time()
    with Dashboard(rows, stop, cfg.model.path, cfg.dashboard.refresh_hz, dashboard_on, console):
        for p in parts:
            p.grabber.start()
        predictor.start()
        for thread in renderers:
            thread.start()
        try:
            _drive(stop, stream_stops, parts, renderers, mosaic)
        finally:
            stop.set()
            for stream_stop in stream_stops:
                stream_stop.set()
            for thread in renderers:
                thread.join(JOIN_TIMEOUT_S)
            predictor.join(JOIN_TIMEOUT_S)
            # A grabber stuck in a native read of a stalled stream ends within read_timeout_s
            # by itself; a stop request must not wait for it (it is a daemon thread).
            for p in parts:
                p.grabber.join(GRABBER_JOIN_TIMEOUT_S)
    if failures:
        raise failures[0]
    streams = []
    for p in parts:
        summary = summarise_stream(p, predictor.error, signals.received, (p.renderer.finished_at or started) - started)
        summary.stage_cpu_s = {"grabber": p.grabber.cpu_s, "renderer": p.renderer.cpu_s}
        streams.append(summary)
    alive = [w.name for w in predictor.workers if w.is_alive()]
    alive += [p.grabber.name for p in parts if p.grabber.is_alive() and p.info.finite]  # a live read may still block
    return RunSummary(streams, time.monotonic() - started, time.process_time() - cpu_started, predictor.cpu_s, alive)


def _drive(stop: threading.Event, stream_stops, parts: list[StreamParts], renderers: list[threading.Thread], mosaic) -> None:
    """The main thread while streams run: the window (OpenCV's GUI wants one thread) and the
    signals arrive here; ``q`` or a signal stops every stream."""
    while any(thread.is_alive() for thread in renderers):
        if mosaic is not None and not stop.is_set():
            mosaic.show()
            if mosaic.quit_requested():
                for p, thread in zip(parts, renderers, strict=True):
                    p.renderer.quit_by_key = thread.is_alive()  # a stream that had ended keeps its reason
                stop.set()
        if stop.is_set():  # every stream stops and finalises
            for stream_stop in stream_stops:
                stream_stop.set()
        if mosaic is None:
            alive = [thread for thread in renderers if thread.is_alive()]
            if alive:
                alive[0].join(0.1)
        else:
            time.sleep(DISPLAY_INTERVAL_S)


def summarise_stream(parts: StreamParts, predictor_error: str | None, signal: str | None, elapsed_s: float) -> StreamSummary:
    """The summary of one stream."""
    renderer, grabber = parts.renderer, parts.grabber
    error = renderer.error or grabber.error or predictor_error
    if signal:
        ended_by = signal
    elif renderer.quit_by_key:
        ended_by = EndedBy.KEY_Q
    elif renderer.reader_gone:
        ended_by = EndedBy.READER_GONE
    elif error:
        ended_by = EndedBy.ERROR
    else:
        ended_by = EndedBy.END_OF_STREAM
    recorder, stats = parts.recorder, parts.stats
    return StreamSummary(
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
