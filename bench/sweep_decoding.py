#!/usr/bin/env python3
"""Choose smoothing / decoding settings on the labelled validation clips, fast.

The model runs once per clip through the real pipeline (every frame, all class
probabilities logged, calibrated, no smoothing). Each setting is then replayed on those
probabilities with the pipeline's own classes (:func:`make_smoother`, :class:`LabelDecoder`,
:class:`SceneCutDetector`) and scored with :func:`vidclf.evaluation.clips.score_clip` — seconds per
setting instead of a minute. The setting chosen must then be confirmed with ``evaluate.py``
(the real streaming path), whose figures are the ones to report.

    python3 bench/sweep_decoding.py [--model models/sports22.tflite] [--clips ../shared/data/clips] [--input-fit crop]
    python3 bench/sweep_decoding.py --model runs/x/x.tflite --grid uncertain_below=0.7,0.8 --grid size=8,16
    python3 bench/sweep_decoding.py --grid uncertain_below=0.7 ... --class-threshold basketball=0.3,0.5,0.7

``--class-threshold CLASS=V1,V2`` adds an axis for one class's own threshold
(``smoothing.class_thresholds``); ``--per-class`` prints each class's clip figures too.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from vidclf.config import OutputConfig, SmoothingConfig, load_config, override  # noqa: E402
from vidclf.evaluation.clips import load_ground_truth, score_clip, summarise, summary_line  # noqa: E402
from vidclf.evaluation.replay import replay_clip  # noqa: E402
from vidclf.pipeline.orchestrator import run_pipeline  # noqa: E402
from vidclf.runtime.classifier import load_classifier  # noqa: E402
from vidclf.streaming.scene_cut import SceneCutDetector  # noqa: E402


def raw_runs(cfg, clips_dir: Path, classifier) -> dict:
    """Per clip: rows (frame, position) and the calibrated probabilities of every class."""
    runs = {}
    with tempfile.TemporaryDirectory() as tmp:
        for truth in load_ground_truth(clips_dir / "labels.json"):
            results = Path(tmp) / f"{truth.name}.jsonl"
            run_cfg = override(
                cfg,
                {
                    "source.source": str(clips_dir / truth.name),
                    "smoothing.mode": "none",
                    "smoothing.uncertain_below": 0.0,
                    "smoothing.scene_cut": False,
                    "display.window": "off",
                    "display.top_k": len(classifier.labels),
                    "dashboard.enabled": "off",
                },
            )
            run_cfg = dataclasses.replace(run_cfg, output=OutputConfig(results=str(results), overwrite=True))
            run_pipeline(run_cfg, classifier=classifier)
            rows = [json.loads(line) for line in results.read_text().splitlines()]
            index = {name: i for i, name in enumerate(classifier.labels)}
            probs = np.zeros((len(rows), len(index)), np.float32)
            for r, row in enumerate(rows):
                for name, p in row["top_k"]:
                    probs[r, index[name]] = p
            runs[truth.name] = (truth, rows, probs, cut_distances(clips_dir / truth.name))
    return runs


def cut_distances(clip: Path) -> list[float]:
    detector, capture, out = SceneCutDetector(), cv2.VideoCapture(str(clip)), []
    while True:
        ok, frame = capture.read()
        if not ok:
            return out
        out.append(detector.distance(frame))


def replay(runs: dict, labels: list[str], s: dict, base: SmoothingConfig, model_thresholds: dict | None = None):
    """The summary of one setting replayed on every clip, and each clip's scores: the
    evaluation's own replay (:func:`replay_clip`) with the setting's fields over ``base``."""
    swept = {k.removeprefix("threshold."): v for k, v in s.items() if k.startswith("threshold.")}
    fields = {k: v for k, v in s.items() if not k.startswith("threshold.")}
    smoothing = dataclasses.replace(base, **fields, class_thresholds={**base.class_thresholds, **swept})
    scores = []
    for truth, rows, probs, cuts in runs.values():
        positions = np.array([row["position_s"] for row in rows])
        frame_cuts = np.array([cuts[row["frame"]] for row in rows])
        replayed = replay_clip(probs, 0.0, frame_cuts, labels, smoothing, model_thresholds, times=positions)
        scores.append(score_clip(truth, replayed))
    return summarise(scores), scores


def per_class_line(scores: list[dict]) -> str:
    """Mean smoothed frame accuracy of each truth class's clips (null: share shown uncertain)."""
    by_class: dict[str, list[float]] = {}
    for score in scores:
        truth = score.get("truth")
        key = truth if isinstance(truth, str) else "null" if truth is None else "segments"
        by_class.setdefault(key, []).append(score["accuracy"] if key != "null" else score["uncertain_share"])
    return " ".join(f"{k} {np.mean(v):.3f}/{len(v)}" for k, v in sorted(by_class.items()))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=None)
    p.add_argument("--clips", default=None)
    p.add_argument("--input-fit", choices=("squash", "crop"), default=None)
    p.add_argument("--grid", action="append", default=[], metavar="KEY=V1,V2", help="replace one axis of the grid (repeatable)")
    p.add_argument(
        "--class-threshold", action="append", default=[], metavar="CLASS=V1,V2", help="an axis for one class's threshold"
    )
    p.add_argument("--per-class", action="store_true", help="print each truth class's mean figure too")
    args = p.parse_args()
    cfg = override(load_config(), {"model.path": args.model, "model.input_fit": args.input_fit})
    clips_dir = Path(args.clips or cfg.evaluate.clips)
    classifier = load_classifier(cfg.model.path, cfg.model.labels, cfg.model.threads)
    runs = raw_runs(cfg, clips_dir, classifier)
    grid = {
        "mode": ["mean"],
        "size": [8, 16, 32],
        "ema_alpha": [0.15],
        "uncertain_below": [0.0, 0.4, 0.5, 0.6, 0.7],
        "hysteresis_s": [0.0, 0.5, 1.0],
        "min_segment_s": [0.0, 1.0, 2.0],
        "scene_cut": [False, True],
        "scene_cut_threshold": [0.4],
    }
    for axis in args.grid:
        key, _, values = axis.partition("=")
        if key not in grid or not values:
            p.error(f"--grid {axis!r}: use KEY=V1,V2 with KEY one of {', '.join(grid)}")
        kind = type(grid[key][0])
        grid[key] = [v.lower() in ("1", "true", "yes") if kind is bool else kind(v) for v in values.split(",")]
    for axis in args.class_threshold:
        name, _, values = axis.partition("=")
        if name not in classifier.labels or not values:
            p.error(f"--class-threshold {axis!r}: use CLASS=V1,V2 with a class of the model")
        grid[f"threshold.{name}"] = [float(v) for v in values.split(",")]
    keys = list(grid)
    for values in itertools.product(*grid.values()):
        setting = dict(zip(keys, values, strict=True))
        summary, scores = replay(runs, classifier.labels, setting, cfg.smoothing, classifier.class_thresholds)
        short = " ".join(f"{k}={v}" for k, v in setting.items() if len(grid[k]) > 1)
        extra = f" | {per_class_line(scores)}" if args.per_class else ""
        print(f"{short} | {summary_line(summary)}{extra}", flush=True)
    for alpha in (0.05, 0.1, 0.2) if not args.grid else ():
        setting = {**dict(zip(keys, [g[0] for g in grid.values()], strict=True)), "mode": "ema", "ema_alpha": alpha}
        setting.update(uncertain_below=0.5, hysteresis_s=0.5, min_segment_s=1.0, scene_cut=True)
        summary, _scores = replay(runs, classifier.labels, setting, cfg.smoothing, classifier.class_thresholds)
        print(f"ema alpha={alpha} | {summary_line(summary)}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
