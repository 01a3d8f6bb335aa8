"""``vidclf run``: classify a webcam, an RTSP/HTTP stream or a video file, frame by frame.

    vidclf run                                         # bundled demo clip + bundled model
    vidclf run --source 0                              # webcam 0
    vidclf run --source rtsp://127.0.0.1:8554/cam --output out.avi
    vidclf run --source clip.mp4 --size 32 --results out.jsonl --no-display

Press q in the window (or Ctrl-C) to stop; the recording and results are always saved.
"""

from __future__ import annotations

import argparse
import sys

from vidclf.cli.common import add_common_flags, add_config_flags, add_set_flag, config_flag, config_overrides, flag_group, log


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_common_flags(p)
    source = flag_group(p, "source")
    # repeatable (one stream each), so spelled here rather than generated from source.source
    config_flag(
        source,
        "--source",
        "-s",
        key="source.source",
        action="append",
        help="webcam index, rtsp:// or http(s):// URL, or video file; repeat it to classify several in one process",
    )
    add_config_flags(p, groups=("source", "model", "labels", "outputs", "events", "live", "performance"))
    window = flag_group(p, "outputs")
    # two spellings of display.window's "on" and "off", shorter than --window on|off
    config_flag(
        window, "--display", key="display.window", action="store_const", const="on", dest="window", help="require a window"
    )
    config_flag(
        window, "--no-display", key="display.window", action="store_const", const="off", dest="window", help="headless: no window"
    )
    add_set_flag(p)


def run(p: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from vidclf.config import DEFAULT_CONFIG, StreamConfig, load_config, override
    from vidclf.errors import VidclfError
    from vidclf.pipeline.orchestrator import run_pipeline
    from vidclf.pipeline.summary import print_summary
    from vidclf.sinks.outputs import STDOUT

    overrides = config_overrides(p, args)
    sources = overrides.pop("source.source") or []
    if sources:  # --source (once or several times) replaces whatever the config lists
        overrides["sources"] = [StreamConfig(source=s) for s in sources]
    cfg = override(load_config(args.config), overrides)
    if args.quiet:
        cfg = override(cfg, {"dashboard.progress": "off"})
    log.info("model %s; sources %s", cfg.model.path, len(cfg.sources) or 1)
    summary = run_pipeline(cfg, config_path=args.config or DEFAULT_CONFIG)
    if not args.quiet:  # with --results - stdout carries the rows: the summary goes to stderr
        print_summary(summary, file=sys.stderr if cfg.output.results == STDOUT else None)
    if summary.error:
        raise VidclfError(summary.error)
    # Ctrl-C is an interruption (130, as shells expect); any other signal is a request to
    # stop, and the run stopped cleanly with everything saved
    return 130 if summary.ended_by == "SIGINT" else 0
