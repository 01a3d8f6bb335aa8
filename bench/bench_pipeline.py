"""Throughput of file replay, every frame classified, measured side by side in one run.

    python bench/bench_pipeline.py [--clip PATH] [--model models/sports22.keras] [--rounds 3]

For one model, interleaved over several rounds (this machine is noisy, so medians are quoted,
and ratios are taken within each round, then the median of those):

  (a) naive   — read, ``model.predict`` (Keras) per frame, draw, write, all in one thread
  (b) vidclf  — the threaded pipeline (grabber -> predictor -> renderer), recording on, no window;
                (b0) the same without recording
  (c) bare    — the model alone on frames decoded and resized beforehand: the upper limit,
                one frame per call (c1) and in batches of the pipeline's max_batch (cB);
                c = the faster of the two in each round

Prints frames/s for each and the ratios b/a (target >= 3) and b/c (target >= 0.9).

It also measures where the CPU goes: the bare model's CPU time per frame (all threads) and
the pipeline's own CPU time per frame (decode, resize, overlay, recording, queues), taken by
running the pipeline with a stand-in model that costs nothing. When the model alone already
keeps every core busy, the pipeline's own work has nowhere to go, and

    b <= cores / (model CPU per frame + pipeline CPU per frame)

which the script prints as the bound on b/c for this machine.
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

from vidclf.config import load_config, override  # noqa: E402
from vidclf.core.messages import Frame, Prediction  # noqa: E402
from vidclf.pipeline.orchestrator import run_pipeline  # noqa: E402
from vidclf.runtime.classifier import load_classifier  # noqa: E402
from vidclf.runtime.preprocess import prepare_image  # noqa: E402
from vidclf.sinks.overlay import draw_overlay  # noqa: E402
from vidclf.streaming.smoothing import RollingMean  # noqa: E402

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


class CostlessModel:
    """A stand-in classifier that returns uniform probabilities at no cost."""

    def __init__(self, labels: list[str], input_size: int):
        self.labels, self.input_size = labels, input_size

    def predict(self, images: np.ndarray) -> np.ndarray:
        return np.full((len(images), len(self.labels)), 1 / len(self.labels), np.float32)


def vidclf_pipeline(clip: Path, model_path: Path, out: Path | None, classifier=None) -> tuple[float, float]:
    """(frames/s, CPU ms per frame) of the pipeline; ``classifier`` replaces the model file."""
    cfg = override(
        load_config(),
        {
            "source.source": str(clip),
            "model.path": str(model_path),
            "output.video": str(out) if out else None,
            "output.overwrite": True,  # every round records to the same file
            "display.window": "off",
            "dashboard.enabled": "off",
        },
    )
    summary = run_pipeline(cfg, Console(file=io.StringIO()), classifier)
    frames = summary.streams[0].frames_shown
    return frames / summary.streams[0].elapsed_s, 1000 * summary.cpu_s / frames


def bare_model(frames: np.ndarray, clf, batch: int) -> tuple[float, float]:
    """(frames/s, CPU ms per frame) of the model alone on preloaded, preprocessed frames."""
    clf.predict(frames[:batch])
    start, cpu_start = time.perf_counter(), time.process_time()
    for i in range(0, len(frames), batch):
        clf.predict(frames[i : i + batch])
    return len(frames) / (time.perf_counter() - start), 1000 * (time.process_time() - cpu_start) / len(frames)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clip", type=Path, default=DEFAULT_CLIP)
    p.add_argument("--model", type=Path, action="append", help="repeatable; default: models/sports22.keras and .tflite")
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    models = args.model or [ROOT / "models" / "sports22.keras", ROOT / "models" / "sports22.tflite"]
    cfg = load_config()
    batch = cfg.model.max_batch
    cores = len(os.sched_getaffinity(0))

    print(f"clip {args.clip.name}; {cores} cores; {args.rounds} rounds, medians\n")

    with tempfile.TemporaryDirectory() as tmp:
        for model_path in models:
            fps, cpu = measure(model_path, args.clip, Path(tmp), args.rounds, cfg.model.threads, batch)
            report(model_path.name, fps, cpu, batch, cores)
    return 0


def preload(clip: Path, size: int) -> np.ndarray:
    """Every frame of ``clip``, decoded and prepared for a model of input ``size``."""
    capture = cv2.VideoCapture(str(clip))
    prepared = []
    while (ok_image := capture.read())[0]:
        prepared.append(prepare_image(ok_image[1], size))
    return np.stack(prepared)


def measure(
    model_path: Path, clip: Path, tmp: Path, rounds: int, threads: int, batch: int
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """frames/s and CPU ms/frame of every variant, per round (variants interleaved)."""
    clf = load_classifier(model_path, threads=threads)
    preloaded = preload(clip, clf.input_size)
    costless = CostlessModel(clf.labels, clf.input_size)
    avi = tmp / "pipeline.avi"
    runs = {
        "b": lambda: vidclf_pipeline(clip, model_path, avi),
        "b0": lambda: vidclf_pipeline(clip, model_path, None),
        "c1": lambda: bare_model(preloaded, clf, 1),
        "cB": lambda: bare_model(preloaded, clf, batch),
        "p": lambda: vidclf_pipeline(clip, model_path, avi, costless),
        "p0": lambda: vidclf_pipeline(clip, model_path, None, costless),
    }
    if model_path.suffix == ".keras":
        runs["a"] = lambda: (naive_loop(clip, model_path, tmp / "naive.avi"), 0.0)
    fps: dict[str, list[float]] = {k: [] for k in runs}
    cpu: dict[str, list[float]] = {k: [] for k in runs}
    for _ in range(rounds):
        for key, run in runs.items():
            f, c = run()
            fps[key].append(f)
            cpu[key].append(c)
    return fps, cpu


def report(name: str, fps: dict[str, list[float]], cpu: dict[str, list[float]], batch: int, cores: int) -> None:
    med = {k: statistics.median(v) for k, v in fps.items()}
    rounds = range(len(fps["b"]))
    # the limit in each round: the faster way of calling the bare model
    best = [max(("c1", "cB"), key=lambda k, i=i: fps[k][i]) for i in rounds]
    c = [fps[best[i]][i] for i in rounds]
    model_cpu = [cpu[best[i]][i] for i in rounds]

    def ratio(key: str, ref: list[float]) -> float:
        return statistics.median(fps[key][i] / ref[i] for i in rounds)

    def bound(own: str) -> float:  # b/c if the pipeline's own CPU work shared the cores perfectly
        return statistics.median(min(1.0, 1000 * cores / (model_cpu[i] + cpu[own][i]) / c[i]) for i in rounds)

    rows = [
        ("a", "(a) naive loop, model.predict per frame"),
        ("b", "(b) vidclf pipeline"),
        ("b0", "(b0) vidclf pipeline, no recording"),
        ("c1", "(c1) bare model, 1 frame per call"),
        ("cB", f"(cB) bare model, {batch} frames per call"),
        ("p", "(p) pipeline alone, costless model"),
        ("p0", "(p0) the same, no recording"),
    ]
    print(f"model {name}")
    for key, text in rows:
        if key in med:
            cpu_text = f"{statistics.median(cpu[key]):6.2f} CPU ms/frame" if key != "a" else " " * 19
            print(f"  {text:<42}{med[key]:8.1f} frames/s {cpu_text}   runs {fmt(fps[key])}")
    if "a" in med:
        print(f"  b/a  = {ratio('b', fps['a']):.2f}x  (target >= 3)")
    print(f"  b/c  = {ratio('b', c):.2f}   b0/c = {ratio('b0', c):.2f}   (target >= 0.9; c = the faster of c1, cB)")
    print(
        f"  CPU bound on {cores} cores: model {statistics.median(model_cpu):.2f} ms/frame + pipeline "
        f"{statistics.median(cpu['p']):.2f} ({statistics.median(cpu['p0']):.2f} without recording) "
        f"-> b/c <= {bound('p'):.2f} (b0/c <= {bound('p0'):.2f})\n"
    )


def fmt(values: list[float]) -> str:
    return ", ".join(f"{v:.1f}" for v in values)


if __name__ == "__main__":
    raise SystemExit(main())
