#!/usr/bin/env python3
"""Throughput of file replay, every frame classified, measured side by side in one run.

    python bench/bench_pipeline.py [--clip PATH] [--model models/sports22.keras] [--rounds 3]

For one model, interleaved over several rounds (this machine is noisy, so medians are quoted):

  (a) naive   — read, ``model.predict`` (Keras) per frame, draw, write, all in one thread
  (b) vidclf  — the threaded pipeline (grabber -> predictor -> renderer), recording on, no window;
                (b0) the same without recording
  (c) bare    — the model alone on frames decoded and resized beforehand: the upper limit,
                one frame per call (c1) and in batches of the pipeline's max_batch (cB)

Prints frames/s for each and the ratios b/a (target >= 3) and b/c (target >= 0.9). The
pipeline batches frames that are already queued, so b/c1 can exceed 1; b/cB compares like
with like.
(a) only exists for Keras models (``model.predict``); with a .tflite model it is skipped.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from rich.console import Console  # noqa: E402

from vidclf.classifier import load_classifier  # noqa: E402
from vidclf.config import load_config, override  # noqa: E402
from vidclf.messages import Frame, Prediction  # noqa: E402
from vidclf.pipeline import run_pipeline  # noqa: E402
from vidclf.preprocess import prepare_image  # noqa: E402
from vidclf.render import draw_overlay  # noqa: E402
from vidclf.smoothing import RollingMean  # noqa: E402

DEFAULT_CLIP = ROOT.parent / "shared" / "data" / "clips" / "montage_lifting_football_tennis.mp4"


def naive_loop(clip: Path, model_path: Path, out: Path) -> float:
    """The tutorial loop: everything in one thread, ``model.predict`` on every frame."""
    clf = load_classifier(model_path)
    model, labels = clf.model, clf.labels
    capture = cv2.VideoCapture(str(clip))
    fps = capture.get(cv2.CAP_PROP_FPS)
    writer = None
    smoother = RollingMean(16)
    frames = 0
    start = time.perf_counter()
    while True:
        ok, image = capture.read()
        if not ok:
            break
        batch = prepare_image(image, clf.input_size)[np.newaxis].astype(np.float32)
        probs = model.predict(batch, verbose=0)[0]
        smoothed = smoother.update(probs)
        pred = Prediction(Frame(frames, image, 0.0), probs, smoothed, int(smoothed.argmax()), 0.0, 0.0)
        annotated = draw_overlay(pred, labels)
        if writer is None:
            h, w = annotated.shape[:2]
            writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
        writer.write(annotated)
        frames += 1
    writer.release()
    return frames / (time.perf_counter() - start)


def vidclf_pipeline(clip: Path, model_path: Path, out: Path | None) -> float:
    cfg = override(
        load_config(),
        {
            "source.source": str(clip),
            "model.path": str(model_path),
            "output.video": str(out) if out else None,
            "display.window": "off",
            "dashboard.enabled": "off",
        },
    )
    summary = run_pipeline(cfg, Console(file=io.StringIO()))
    return summary.frames_shown / summary.elapsed_s


def bare_model(frames: np.ndarray, model_path: Path, batch: int) -> float:
    clf = load_classifier(model_path)
    clf.predict(frames[:batch])
    start = time.perf_counter()
    for i in range(0, len(frames), batch):
        clf.predict(frames[i : i + batch])
    return len(frames) / (time.perf_counter() - start)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clip", type=Path, default=DEFAULT_CLIP)
    p.add_argument("--model", type=Path, action="append", help="repeatable; default: models/sports22.keras and .tflite")
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    models = args.model or [ROOT / "models" / "sports22.keras", ROOT / "models" / "sports22.tflite"]
    batch = load_config().model.max_batch

    capture = cv2.VideoCapture(str(args.clip))
    decoded = []
    while (ok_image := capture.read())[0]:
        decoded.append(prepare_image(ok_image[1], 224))
    preloaded = np.stack(decoded)
    print(f"clip {args.clip.name}: {len(preloaded)} frames; {os.cpu_count()} CPUs; {args.rounds} rounds, medians\n")

    with tempfile.TemporaryDirectory() as tmp:
        for model_path in models:
            runs: dict[str, list[float]] = {"a": [], "b": [], "b0": [], "c1": [], "cB": []}
            for _ in range(args.rounds):
                if model_path.suffix == ".keras":
                    runs["a"].append(naive_loop(args.clip, model_path, Path(tmp) / "naive.avi"))
                runs["b"].append(vidclf_pipeline(args.clip, model_path, Path(tmp) / "pipeline.avi"))
                runs["b0"].append(vidclf_pipeline(args.clip, model_path, None))
                runs["c1"].append(bare_model(preloaded, model_path, 1))
                runs["cB"].append(bare_model(preloaded, model_path, batch))
            med = {k: statistics.median(v) for k, v in runs.items() if v}
            print(f"model {model_path.name}")
            if "a" in med:
                print(f"  (a) naive loop, model.predict per frame  {med['a']:8.1f} frames/s   runs {fmt(runs['a'])}")
            print(f"  (b) vidclf pipeline                      {med['b']:8.1f} frames/s   runs {fmt(runs['b'])}")
            print(f"  (b0) vidclf pipeline, no recording       {med['b0']:8.1f} frames/s   runs {fmt(runs['b0'])}")
            print(f"  (c1) bare model, 1 frame per call        {med['c1']:8.1f} frames/s   runs {fmt(runs['c1'])}")
            print(f"  (cB) bare model, {batch} frames per call       {med['cB']:8.1f} frames/s   runs {fmt(runs['cB'])}")
            if "a" in med:
                print(f"  b/a  = {med['b'] / med['a']:.2f}x  (target >= 3)")
            print(f"  b/c1 = {med['b'] / med['c1']:.2f}   b/cB = {med['b'] / med['cB']:.2f}   (target >= 0.9)")
            print(f"  b0/c1 = {med['b0'] / med['c1']:.2f}   b0/cB = {med['b0'] / med['cB']:.2f}\n")
    return 0


def fmt(values: list[float]) -> str:
    return ", ".join(f"{v:.1f}" for v in values)


if __name__ == "__main__":
    raise SystemExit(main())
