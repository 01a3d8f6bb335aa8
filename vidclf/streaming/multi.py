"""Several sources in one process: one grabber and one renderer per stream, one shared
predictor and model for all of them (:class:`~vidclf.streaming.predictor.PredictorPool`: by
default as many inference threads as ``model.threads``, each with its own copy of the model;
a free thread serves whichever stream has frames waiting).

Each stream has its own queues, schedule (``classify_fps``), smoothing and decoding state,
scene-cut detector, recording, results, segments and event sinks, and its own stop event: a
stream that ends, loses its source for good, or cannot write its output stops alone; the
others go on. A termination signal stops them all (and everything is finalised). With a
display, one window shows every stream in a grid (:mod:`vidclf.sinks.mosaic`; ``q`` stops
them all); ``--serve`` starts one server with a browser view per stream (``/<name>/``); the
dashboard shows one row per stream plus totals.

Output paths name each stream with ``{name}`` (``--results runs/{name}.jsonl``), or a
``sources:`` entry sets its own ``video`` / ``results``.

Usage::

    cfg = override(load_config(), {"sources": [StreamConfig("rtsp://cam1/s"), StreamConfig("rtsp://cam2/s")]})
    summary = run_streams(cfg)
    print_multi_summary(summary)
"""

from __future__ import annotations

import dataclasses
import sys
import threading
import time
from pathlib import Path

from rich.console import Console

from vidclf.config import Config, ServeConfig, StreamConfig, override
from vidclf.errors import VidclfError
from vidclf.runtime.classifier import load_classifier
from vidclf.sinks.dashboard import StreamsDashboard
from vidclf.sinks.mosaic import Mosaic
from vidclf.sinks.outputs import STDOUT, check_outputs
from vidclf.sinks.serve import MultiServe
from vidclf.sinks.terminal import write_text
from vidclf.streaming.pipeline import (
    GRABBER_JOIN_TIMEOUT_S,
    JOIN_TIMEOUT_S,
    Prepared,
    RunSummary,
    StreamParts,
    _prepare,
    _SignalStop,
    _StartupInterrupted,
    _want_window,
    build_stream,
    open_window,
    output_paths,
    print_summary,
    summarise_stream,
)
from vidclf.streaming.predictor import PredictorPool
from vidclf.streaming.source import decoding_threads, parse_source, safe_name

NAME_FIELD = "{name}"
MOSAIC_INTERVAL_S = 0.04  # the grid window is redrawn ~25 times a second, whatever the streams' rates


def _named(template: str | None, name: str, key: str) -> str | None:
    if template is None:
        return None
    if template == STDOUT:
        raise VidclfError(f"{key}: several sources cannot share standard output; use a file with {NAME_FIELD}")
    if NAME_FIELD not in template:
        raise VidclfError(f"{key} must contain {NAME_FIELD} with several sources (e.g. runs/{NAME_FIELD}.jsonl), got {template}")
    return template.replace(NAME_FIELD, name)


def plan_streams(cfg: Config) -> list[tuple[str, Config]]:
    """One config per ``sources:`` entry: its source, name, rate cap and outputs; no window or
    browser view of its own (the streams share one of each, see :func:`run_streams`)."""
    names: list[str] = []
    for i, stream in enumerate(cfg.sources):
        if not stream.source:
            raise VidclfError(f"sources[{i}].source is missing")
        # a name becomes part of file paths and topics: reduced to one safe path component
        base = safe_name(stream.name) if stream.name else parse_source(stream.source).safe_name
        name, n = base, 2
        while name in names:  # two cameras with the same stream path: court1, court1-2
            name, n = f"{base}-{n}", n + 1
        names.append(name)
    plans = []
    for stream, name in zip(cfg.sources, names, strict=True):
        values = {
            "source.source": stream.source,
            "model.classify_fps": stream.classify_fps,
            "output.video": stream.video or _named(cfg.output.video, name, "output.video"),
            "output.results": stream.results or _named(cfg.output.results, name, "output.results"),
            "output.srt": _named(cfg.output.srt, name, "output.srt"),
            "output.timeline": _named(cfg.output.timeline, name, "output.timeline"),
            "events.name": name,
            "display.window": "off",
            "dashboard.enabled": "off",
            "dashboard.progress": "off",
            "source.decode_threads": decoding_threads(cfg.source.decode_threads, len(names)),
        }
        # no server of its own: the streams share one (run_streams); override() skips None values
        plans.append((name, dataclasses.replace(override(cfg, values), sources=[], serve=ServeConfig())))
    return plans


def _check_all_outputs(plans: list[tuple[str, Config]], cfg: Config, config_path) -> None:
    """No two streams may write the same file, and no stream may write over another stream's
    source (each stream's own check sees only its own inputs)."""
    outputs: dict[str, str | Path | None] = {}
    inputs: dict[str, str | Path | None] = {"model": cfg.model.path, "config": config_path}
    for name, stream_cfg in plans:
        outputs.update(output_paths(stream_cfg, f" of {name}"))
        spec = parse_source(stream_cfg.source.source)
        inputs[f"source video of {name}"] = spec.value if spec.kind == "file" else None
    check_outputs(outputs, inputs, cfg.output.overwrite)


def run_streams(cfg: Config, console: Console | None = None, config_path: str | Path | None = None) -> MultiRunSummary:
    """Run every ``cfg.sources`` stream until each has ended, or a signal stops them all."""
    console = console or Console()
    plans = plan_streams(cfg)
    _check_all_outputs(plans, cfg, config_path)
    show_window = _want_window(cfg.display.window)  # "on" without a display fails before any camera is opened
    stop = threading.Event()
    stream_stops = [threading.Event() for _ in plans]
    prepared: list = []
    with _SignalStop(stop) as signals:
        try:
            # one copy of the model per inference thread, the cores split between them
            workers = min(cfg.model.inference_workers or cfg.model.threads, len(plans))
            threads = max(1, cfg.model.threads // workers)
            classifiers = [load_classifier(cfg.model.path, cfg.model.labels, threads) for _ in range(workers)]
            for _name, stream_cfg in plans:
                opened = _prepare(stream_cfg, classifiers[0], config_path, stop)
                if opened is None:
                    break
                prepared.append(opened)
        except _StartupInterrupted:
            pass
        except BaseException:
            _release(prepared)
            raise
        signals.raising = False
        if len(prepared) < len(plans) or stop.is_set():  # a signal during start-up
            _release(prepared)
            interrupted = [
                RunSummary(str(parse_source(c.source.source)), signals.received or "stopped", 0, 0, 0, 0, 0.0) for _, c in plans
            ]
            return MultiRunSummary(interrupted, 0.0, 0.0, 0.0)
        parts: list[StreamParts] = []
        mosaic = views = None
        try:
            window = open_window(cfg, console, show_window)  # once every source is open: no empty window while cameras connect
            mosaic = Mosaic([name for name, _ in plans], window) if window is not None else None
            views = _browser_view(cfg, plans, prepared, classifiers[0].labels)
            for i, ((name, stream_cfg), stream_stop, opened) in enumerate(zip(plans, stream_stops, prepared, strict=True)):
                sinks = ([mosaic.tiles[i]] if mosaic is not None else []) + ([views.views[name]] if views is not None else [])
                parts.append(build_stream(stream_cfg, console, stream_stop, sinks, opened))
        except BaseException:
            _release(prepared[len(parts) :])
            for built in parts:
                built.grabber.capture.release()
                built.renderer.close()
            _close_shared(mosaic, views)
            raise
        try:
            return _run(cfg, console, stop, stream_stops, signals, classifiers, plans, parts, mosaic)
        finally:
            _close_shared(mosaic, views)


def _release(prepared: list[Prepared]) -> None:
    for opened in prepared:
        opened.release()


def _browser_view(cfg: Config, plans, prepared: list[Prepared], labels: list[str]) -> MultiServe | None:
    """One server for every stream's browser view (``--serve``): ``/<name>/`` each, ``/`` lists them."""
    if not cfg.serve.address:
        return None
    serve = cfg.serve
    sources = {name: str(opened.spec) for (name, _), opened in zip(plans, prepared, strict=True)}
    views = MultiServe(serve.address, serve.token, sources, serve.max_fps, serve.jpeg_quality, labels)
    write_text(f"browser view: {views.url}\n", sys.stderr)  # stderr: stdout may carry results
    return views


def _close_shared(mosaic: Mosaic | None, views: MultiServe | None) -> None:
    """The window and the browser view, which outlive every stream's renderer."""
    if mosaic is not None:
        mosaic.close()
    if views is not None:
        views.close()


def _run(cfg, console, stop, stream_stops, signals, classifiers, plans, parts: list[StreamParts], mosaic) -> MultiRunSummary:
    predictor = PredictorPool(classifiers, [p.channel for p in parts], stop, cfg.model.max_batch, cfg.model.input_fit)
    renderers = [
        threading.Thread(target=p.renderer.run, name=f"renderer-{name}", daemon=True)
        for (name, _), p in zip(plans, parts, strict=True)
    ]
    rows = [(name, p.stats, p.frames) for (name, _), p in zip(plans, parts, strict=True)]
    dashboard_on = cfg.dashboard.enabled == "on" or (cfg.dashboard.enabled == "auto" and console.is_terminal)
    started, cpu_started = time.monotonic(), time.process_time()
    with StreamsDashboard(rows, stop, cfg.model.path, cfg.dashboard.refresh_hz, dashboard_on, console):
        for p in parts:
            p.grabber.start()
        predictor.start()
        for thread in renderers:
            thread.start()
        try:
            while any(thread.is_alive() for thread in renderers):
                if mosaic is not None and not stop.is_set():
                    mosaic.show()  # the main thread drives the window (OpenCV's GUI needs one thread)
                    if mosaic.quit_requested():
                        for p, thread in zip(parts, renderers, strict=True):
                            p.renderer.quit_by_key = thread.is_alive()  # a stream that had ended keeps its reason
                        stop.set()
                if stop.is_set():  # a signal or q: every stream stops and finalises
                    for stream_stop in stream_stops:
                        stream_stop.set()
                if mosaic is None:
                    for thread in renderers:
                        thread.join(0.1)
                else:
                    time.sleep(MOSAIC_INTERVAL_S)
        finally:
            stop.set()
            for stream_stop in stream_stops:
                stream_stop.set()
            for thread in renderers:
                thread.join(JOIN_TIMEOUT_S)
            predictor.join(JOIN_TIMEOUT_S)
            for p in parts:
                p.grabber.join(GRABBER_JOIN_TIMEOUT_S)
    elapsed = time.monotonic() - started
    streams = []
    for p in parts:
        summary = summarise_stream(p, predictor.error, signals.received, (p.renderer.finished_at or started) - started)
        summary.stage_cpu_s = {"grabber": p.grabber.cpu_s, "renderer": p.renderer.cpu_s}
        streams.append(summary)
    return MultiRunSummary(streams, elapsed, time.process_time() - cpu_started, predictor.cpu_s)


@dataclasses.dataclass
class MultiRunSummary:
    streams: list[RunSummary]
    elapsed_s: float
    cpu_s: float  # the whole process while streaming
    predictor_cpu_s: float  # the shared predictor thread

    @property
    def error(self) -> str | None:
        """The streams that failed, one line."""
        failed = [f"{s.source}: {s.error}" for s in self.streams if s.error]
        return "; ".join(failed) if failed else None

    @property
    def ended_by(self) -> str:
        return self.streams[0].ended_by if self.streams else "stopped"


def print_multi_summary(summary: MultiRunSummary, file=None) -> None:
    """Each stream's summary, then the totals (CPU is shared, so it is reported once)."""
    for stream in summary.streams:
        print_summary(stream, file, cpu=False)
    shown = sum(s.frames_shown for s in summary.streams)
    classified = sum(s.frames_classified for s in summary.streams)
    per_frame = 1000 * summary.cpu_s / shown if shown else 0.0
    predictor = 1000 * summary.predictor_cpu_s / shown if shown else 0.0
    write_text(
        f"all {len(summary.streams)} streams: shown {shown}, classified {classified} in {summary.elapsed_s:.1f} s; "
        f"CPU {per_frame:.1f} ms/frame (all threads), shared predictor {predictor:.1f} ms/frame\n",
        file or sys.stdout,
    )


def streams_from_sources(sources: list[str]) -> list[StreamConfig]:
    """``--source`` given several times: one stream per value, named after the source."""
    return [StreamConfig(source=s) for s in sources]
