#!/usr/bin/env python3
"""Classify a live video stream or a video file, frame by frame, with a smoothed label.

    python stream_classify.py                                   # bundled demo clip + model
    python stream_classify.py --source 0                        # webcam 0
    python stream_classify.py --source rtsp://127.0.0.1:8554/cam --output out.avi
    python stream_classify.py --source clip.mp4 --size 32 --results out.jsonl --no-display

Press q in the window (or Ctrl-C) to stop; the recording and results are always saved.
"""

from __future__ import annotations

import argparse

from vidclf.cli.common import add_model_flags, model_overrides, quiet_tensorflow, run_main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_model_flags(p)
    p.add_argument("--source", "-s", help="webcam index, rtsp:// URL or video file")
    p.add_argument("--output", "-o", help="record the annotated stream (.avi or .mp4)")
    p.add_argument("--output-fps", type=float, help="recording FPS (default: the source's)")
    p.add_argument("--results", help="per-frame results file (.jsonl or .csv)")
    p.add_argument("--overwrite", action="store_true", default=None, help="replace existing output files (default: refuse to)")
    p.add_argument("--top-k", type=int, help="probability bars shown and logged")
    p.add_argument("--max-width", type=int, help="scale wider frames down to this width in the window")
    p.add_argument("--max-batch", type=int, help="most queued frames classified in one model call")
    p.add_argument("--queue-size", type=int, help="frames buffered between grabber and predictor")
    p.add_argument("--realtime", action="store_true", default=None, help="pace a file at its FPS and drop frames like a camera")
    p.add_argument("--loop", action="store_true", default=None, help="restart a file at its end")
    p.add_argument("--display", action="store_const", const="on", dest="window", help="require an on-screen window")
    p.add_argument("--no-display", action="store_const", const="off", dest="window", help="headless: no window")
    p.add_argument("--dashboard", choices=("auto", "on", "off"), help="rich terminal dashboard")
    p.add_argument("--give-up-after", type=float, help="seconds a lost live source may stay away (0 = forever)")
    p.add_argument("--open-timeout", type=float, help="seconds to wait for a live source to open")
    p.add_argument("--read-timeout", type=float, help="seconds without a frame before a live source counts as stalled")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    quiet_tensorflow()
    from vidclf.config import DEFAULT_CONFIG, load_config, override
    from vidclf.errors import VidclfError
    from vidclf.stream.pipeline import print_summary, run_pipeline

    cfg = override(
        load_config(args.config),
        {
            **model_overrides(args),
            "source.source": args.source,
            "model.max_batch": args.max_batch,
            "output.video": args.output,
            "output.fps": args.output_fps,
            "output.results": args.results,
            "output.overwrite": args.overwrite,
            "display.top_k": args.top_k,
            "display.max_width": args.max_width,
            "display.window": args.window,
            "source.queue_size": args.queue_size,
            "source.realtime": args.realtime,
            "source.loop": args.loop,
            "dashboard.enabled": args.dashboard,
            "source.give_up_after_s": args.give_up_after,
            "source.open_timeout_s": args.open_timeout,
            "source.read_timeout_s": args.read_timeout,
        },
    )
    summary = run_pipeline(cfg, config_path=args.config or DEFAULT_CONFIG)
    print_summary(summary)
    if summary.error:
        raise VidclfError(summary.error)
    # Ctrl-C is an interruption (130, as shells expect); any other signal is a request to
    # stop, and the run stopped cleanly with everything saved
    return 130 if summary.ended_by == "SIGINT" else 0


if __name__ == "__main__":
    raise SystemExit(run_main(main))
