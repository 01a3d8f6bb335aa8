"""``vidclf review``: sort the frames ``--save-uncertain`` kept into class folders, in the browser.

    vidclf review runs/hard                            # http://127.0.0.1:8090/
    vidclf review runs/hard --serve 127.0.0.1:9000 --model runs/mine/mine.tflite

Each frame filed moves into runs/hard/<class>/ (runs/hard/_none/ for no sport): then
vidclf train --extra-data runs/hard --set train.background_class=no_sport trains on them.
Ctrl-C stops the page.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading

from vidclf.cli.common import add_common_flags, add_config_flags, config_overrides


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_common_flags(p)
    p.add_argument("folder", help="the folder --save-uncertain wrote")
    p.add_argument("--serve", default="127.0.0.1:8090", help="loopback address of the page (default: 127.0.0.1:8090)")
    add_config_flags(p, keys=("model.path", "model.labels"))


def run(p: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from vidclf.config import load_config, override
    from vidclf.errors import VidclfError
    from vidclf.review import Review, ReviewServer
    from vidclf.runtime.classifier import default_labels_path
    from vidclf.sinks.terminal import write_text

    cfg = override(load_config(args.config), config_overrides(p, args))
    labels_path = cfg.model.labels or default_labels_path(cfg.model.path)
    try:
        classes = json.loads(open(labels_path, encoding="utf-8").read())
    except (OSError, ValueError) as exc:
        raise VidclfError(f"cannot read the model's classes from {labels_path}: {exc}") from None
    review = Review(args.folder, classes, set(cfg.smoothing.background_labels))
    server = ReviewServer(review, args.serve)
    write_text(f"review: {server.url} ({len(review.pending())} frames waiting)\n", sys.stderr)
    try:
        threading.Event().wait()  # until Ctrl-C or a termination signal
    finally:
        server.close()
    return 0
