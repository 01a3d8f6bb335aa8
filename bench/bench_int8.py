"""The shipped model's files side by side: CPU ms a frame and frames/s, float vs int8.

    python bench/bench_int8.py [--models models/sports22.tflite,models/sports22.int8.tflite,models/sports22.int8.onnx]
                               [--rounds 5] [--calls 60]

Each file is loaded with ``load_classifier`` (as the pipeline does) and called on one frame of
its own input size at a time, at 1 and 2 threads, in interleaved rounds (this machine's speed drifts), two ways:
back to back (the most a file can do) and paced at 30 calls/s (a live camera: what the threads
burn between frames shows up here). CPU is the process's, all threads. Medians are quoted.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from vidclf.runtime.classifier import load_classifier  # noqa: E402

DEFAULT_MODELS = ",".join(str(ROOT / "models" / f"sports22.{kind}") for kind in ("tflite", "int8.tflite", "int8.onnx"))


def measure(clf, image: np.ndarray, calls: int, interval_s: float) -> tuple[float, float]:
    """``(frames/s while calling, CPU ms per frame)`` over ``calls`` single-frame calls."""
    for _ in range(3):
        clf.predict(image)
    busy = 0.0
    cpu0 = time.process_time()
    for _ in range(calls):
        start = time.perf_counter()
        clf.predict(image)
        spent = time.perf_counter() - start
        busy += spent
        if interval_s > spent:
            time.sleep(interval_s - spent)
    return calls / busy, (time.process_time() - cpu0) * 1000 / calls


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", default=DEFAULT_MODELS, help="comma-separated model files")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--calls", type=int, default=60)
    args = p.parse_args()
    paths = [Path(m) for m in args.models.split(",")]
    for threads in (1, 2):
        models = {path.name: load_classifier(path, threads=threads) for path in paths}
        rng = np.random.default_rng(0)  # each file gets a frame of its own input size (a fast tier's is smaller)
        images = {name: rng.integers(0, 256, (1, c.input_size, c.input_size, 3), dtype=np.uint8) for name, c in models.items()}
        results: dict[tuple[str, str], list[tuple[float, float]]] = {}
        for _ in range(args.rounds):
            for name, clf in models.items():
                for pace, interval in (("back to back", 0.0), ("30 calls/s", 1 / 30)):
                    results.setdefault((name, pace), []).append(measure(clf, images[name], args.calls, interval))
        print(f"{threads} thread{'s' if threads > 1 else ''}, batch 1, {args.rounds} rounds x {args.calls} calls (medians):")
        base = {pace: statistics.median(c for _, c in results[(paths[0].name, pace)]) for pace in ("back to back", "30 calls/s")}
        for (name, pace), values in results.items():
            fps = statistics.median(f for f, _ in values)
            cpu = statistics.median(c for _, c in values)
            print(
                f"  {name:<22} {pace:<13} {fps:6.1f} frames/s while busy  {cpu:6.2f} CPU ms/frame  "
                f"(x{cpu / base[pace]:.2f} of {paths[0].name}'s CPU)",
                flush=True,
            )


if __name__ == "__main__":
    main()
