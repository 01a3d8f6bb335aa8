"""Shared command-line plumbing: the model/smoothing flags, quiet TensorFlow logs,
one-line errors, exit codes.

Usage (in a top-level script)::

    from vidclf.cli.common import add_model_flags, model_overrides, run_main
    add_model_flags(parser)                       # --config, --model, --size, --hysteresis, ...
    cfg = override(load_config(args.config), model_overrides(args))
    raise SystemExit(run_main(main))
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import Any

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def add_model_flags(p: argparse.ArgumentParser) -> None:
    """Flags for what classifies and how predictions become labels: shared by
    ``stream_classify.py`` and ``evaluate.py`` so that an evaluated setting runs as is."""
    p.add_argument("--config", help="config file (default: config.yaml next to this script)")
    p.add_argument("--model", "-m", help="model file (.tflite or .keras)")
    p.add_argument("--labels", "-l", help="labels JSON (default: <model>.labels.json)")
    p.add_argument("--threads", type=int, help="CPU threads for inference")
    p.add_argument("--input-fit", choices=("squash", "crop"), help="how a frame meets the model's square input")
    p.add_argument("--size", type=int, help="K, predictions in the rolling average")
    p.add_argument("--smoothing", choices=("mean", "ema", "none"), help="smoothing mode")
    p.add_argument("--ema-alpha", type=float, help="weight of the newest prediction in ema mode")
    p.add_argument("--uncertain-below", type=float, help="say 'uncertain' below this smoothed probability (0 = never)")
    p.add_argument("--hysteresis", type=float, help="seconds a new label must lead before it is shown")
    p.add_argument("--min-segment", type=float, help="seconds a shown label stays at least")
    p.add_argument("--scene-cut", action=argparse.BooleanOptionalAction, default=None, help="restart smoothing at hard cuts")


def model_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The config keys set by :func:`add_model_flags`'s flags (None: not given)."""
    return {
        "model.path": args.model,
        "model.labels": args.labels,
        "model.threads": args.threads,
        "model.input_fit": args.input_fit,
        "smoothing.size": args.size,
        "smoothing.mode": args.smoothing,
        "smoothing.ema_alpha": args.ema_alpha,
        "smoothing.uncertain_below": args.uncertain_below,
        "smoothing.hysteresis_s": args.hysteresis,
        "smoothing.min_segment_s": args.min_segment,
        "smoothing.scene_cut": args.scene_cut,
    }


def quiet_tensorflow() -> None:
    """Hide TensorFlow's C++ start-up chatter (CPU feature notices, oneDNN banners)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")


def run_main(main: Callable[[], int]) -> int:
    """Call ``main``; turn a :class:`VidclfError` into ``error: ...`` on stderr and exit code 2."""
    from vidclf.errors import VidclfError
    from vidclf.redact import redact

    try:
        return main()
    except VidclfError as exc:
        print(f"error: {redact(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
