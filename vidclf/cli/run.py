"""``vidclf run``: classify a webcam, an RTSP/HTTP stream or a video file, frame by frame.

    vidclf run                                         # bundled demo clip + bundled model
    vidclf run --source 0                              # webcam 0
    vidclf run --source rtsp://127.0.0.1:8554/cam --output out.avi
    vidclf run --source clip.mp4 --size 32 --results out.jsonl --no-display

Press q in the window (or Ctrl-C) to stop; the recording and results are always saved.
"""

from __future__ import annotations

import argparse
import functools
import sys

from vidclf.cli.common import add_common_flags, add_model_flags, config_flag, config_overrides, log


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_common_flags(p)
    config_flag(
        p,
        "--source",
        "-s",
        key="source.source",
        action="append",
        help="webcam index, rtsp:// or http(s):// URL, or video file; repeat it to classify several in one process",
    )
    add_model_flags(p)
    config_flag(p, "--output", "-o", key="output.video", help="record the annotated stream (.avi or .mp4)")
    config_flag(p, "--output-fps", key="output.fps", type=float, help="recording FPS (none: the source's)")
    config_flag(p, "--results", key="output.results", help="per-frame results (.jsonl or .csv; - = JSON lines on stdout)")
    config_flag(p, "--srt", key="output.srt", help="the label segments as subtitles (.srt), written at the end")
    config_flag(p, "--timeline", key="output.timeline", help="picture of the run's label timeline (.png), written at the end")
    config_flag(p, "--overwrite", key="output.overwrite", action="store_true", help="replace existing output files")
    config_flag(p, "--top-k", key="display.top_k", type=int, help="probability bars shown and logged")
    config_flag(p, "--max-width", key="display.max_width", type=int, help="scale wider frames down to this width in the window")
    config_flag(
        p,
        "--classify-fps",
        key="model.classify_fps",
        type=float,
        help="classify at most this many frames a second (the others carry the label)",
    )
    config_flag(p, "--max-batch", key="model.max_batch", type=int, help="most queued frames classified in one model call")
    config_flag(p, "--queue-size", key="source.queue_size", type=int, help="frames buffered between grabber and predictor")
    config_flag(
        p, "--realtime", key="source.realtime", action="store_true", help="pace a file at its FPS and drop frames like a camera"
    )
    config_flag(p, "--loop", key="source.loop", action="store_true", help="restart a file at its end")
    config_flag(p, "--display", key="display.window", action="store_const", const="on", dest="window", help="require a window")
    config_flag(
        p, "--no-display", key="display.window", action="store_const", const="off", dest="window", help="headless: no window"
    )
    config_flag(p, "--name", key="events.name", help="the stream's name in events and MQTT topics (none: the source's)")
    config_flag(p, "--webhook", key="events.webhook", help="POST each label change as JSON to this URL")
    config_flag(p, "--mqtt", key="events.mqtt", help="publish label changes to this MQTT broker (host:port)")
    config_flag(p, "--mqtt-topic", key="events.mqtt_topic", help="MQTT topic prefix")
    config_flag(p, "--serve", key="serve.address", help="browser view at host:port (e.g. 127.0.0.1:8080)")
    config_flag(
        p, "--serve-token", key="serve.token", help="token the browser view requires (made up when bound beyond localhost)"
    )
    config_flag(
        p, "--progress", key="dashboard.progress", choices=("auto", "on", "off"), help="progress bar while a file is replayed"
    )
    config_flag(p, "--dashboard", key="dashboard.enabled", choices=("auto", "on", "off"), help="rich terminal dashboard")
    config_flag(p, "--give-up-after", key="source.give_up_after_s", type=float, help="seconds a lost live source may stay away")
    config_flag(p, "--open-timeout", key="source.open_timeout_s", type=float, help="seconds to wait for a live source to open")
    config_flag(p, "--read-timeout", key="source.read_timeout_s", type=float, help="seconds without a frame before a stall")


def run(p: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from vidclf.config import DEFAULT_CONFIG, load_config, override
    from vidclf.errors import VidclfError
    from vidclf.sinks.outputs import STDOUT
    from vidclf.streaming.multi import print_multi_summary, run_streams, streams_from_sources
    from vidclf.streaming.pipeline import print_summary, run_pipeline

    overrides = config_overrides(p, args)
    sources = overrides.pop("source.source") or []
    if len(sources) == 1:  # one --source replaces whatever the config lists
        overrides["source.source"], overrides["sources"] = sources[0], []
    elif sources:  # --source given several times: one stream each
        overrides["sources"] = streams_from_sources(sources)
    cfg = override(load_config(args.config), overrides)
    if args.quiet:
        cfg = override(cfg, {"dashboard.progress": "off"})
    config_path = args.config or DEFAULT_CONFIG
    if cfg.sources:
        log.info("model %s; %d sources", cfg.model.path, len(cfg.sources))
        summary = run_streams(cfg, config_path=config_path)
        report = print_multi_summary
    else:
        log.info("model %s; source %s", cfg.model.path, cfg.source.source)
        summary = run_pipeline(cfg, config_path=config_path)
        # with --results - stdout carries the rows: the summary goes to stderr
        report = functools.partial(print_summary, file=sys.stderr if cfg.output.results == STDOUT else None)
    if not args.quiet:
        report(summary)
    if summary.error:
        raise VidclfError(summary.error)
    # Ctrl-C is an interruption (130, as shells expect); any other signal is a request to
    # stop, and the run stopped cleanly with everything saved
    return 130 if summary.ended_by == "SIGINT" else 0
