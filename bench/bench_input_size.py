"""One trained model written at several input sizes: bare speed side by side, and test accuracy.

    python bench/bench_input_size.py [--model models/sports22.keras] [--sizes 192,224,240,256,288]
                                     [--rounds 5] [--calls 100] [--no-accuracy]

Each size is the same weights (``vidclf.training.export.with_input_size``) converted to float32
TFLite the way ``train.py`` does and run through LiteRT with 2 threads at batch 1 -- what the
default model must do at >= 100 frames/s. Rounds are interleaved (every size once per round) so
a noisy neighbour hits every size alike; medians are printed. With accuracy on (the default),
each size also classifies the test photos of the config's ``train.data_dir`` split (same seed
and fractions as training; the photos prepared at that size, centre crop) -- the 1,411 photos
every shipped model's card reports.

The files are written with TensorFlow, then measured in a second process that loads LiteRT
alone, as the runtime does: with TensorFlow in the same process LiteRT ran ~30 % slower
(measured: 103 vs 143 frames/s at 224 px).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

from vidclf.config import load_config  # noqa: E402
from vidclf.runtime.classifier import TFLiteClassifier, default_labels_path, load_labels  # noqa: E402
from vidclf.training.dataset import load_images, scan_classes, stratified_split  # noqa: E402


def frames_per_second(clf: TFLiteClassifier, calls: int) -> float:
    x = np.random.default_rng(0).integers(0, 256, (1, clf.input_size, clf.input_size, 3)).astype(np.float32)
    for _ in range(5):
        clf.predict(x)
    started = time.perf_counter()
    for _ in range(calls):
        clf.predict(x)
    return calls / (time.perf_counter() - started)


def photo_accuracy(clf: TFLiteClassifier) -> tuple[float, int]:
    train = load_config().train  # its paths are resolved against the config's folder
    data_dir = Path(train.data_dir)
    names, items = scan_classes(data_dir, [label for label in clf.labels if (data_dir / label).is_dir()])
    split = stratified_split(names, items, train.val_fraction, train.test_fraction, train.seed)
    images, labels, _bad = load_images(split.test, clf.input_size, fit="crop")
    columns = np.array([clf.labels.index(name) for name in names])
    predicted = np.concatenate([clf.predict(images[i : i + 32]) for i in range(0, len(images), 32)]).argmax(1)
    return float(np.mean(columns[labels] == predicted)), len(labels)


def measure(folder: Path, sizes: list[int], labels_path: Path, args: argparse.Namespace) -> None:
    labels = load_labels(labels_path)
    classifiers = {size: TFLiteClassifier(folder / f"s{size}.tflite", labels, threads=2) for size in sizes}
    speeds: dict[int, list[float]] = {size: [] for size in sizes}
    for _ in range(args.rounds):
        for size, clf in classifiers.items():
            speeds[size].append(frames_per_second(clf, args.calls))
    print(f"{args.model}: bare TFLite, batch 1, 2 threads, {args.rounds} interleaved rounds of {args.calls} calls")
    for size, clf in classifiers.items():
        accuracy = ""
        if args.accuracy:
            value, count = photo_accuracy(clf)
            accuracy = f"   test accuracy {value:.4f} ({count} photos)"
        runs = ", ".join(f"{fps:.0f}" for fps in speeds[size])
        print(f"  {size:4d} px: {statistics.median(speeds[size]):6.1f} frames/s (runs {runs}){accuracy}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(ROOT / "models" / "sports22.keras"))
    parser.add_argument("--sizes", default="192,224,240,256,288")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--no-accuracy", dest="accuracy", action="store_false")
    parser.add_argument("--measure-dir", help=argparse.SUPPRESS)  # the second process: files written already
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    labels_path = default_labels_path(args.model)
    if args.measure_dir:
        measure(Path(args.measure_dir), sizes, labels_path, args)
        return
    from vidclf.runtime.keras_layers import load_keras_model
    from vidclf.training.export import export_tflite, with_input_size

    model = load_keras_model(args.model)
    with tempfile.TemporaryDirectory() as folder:
        for size in sizes:
            export_tflite(with_input_size(model, size), Path(folder) / f"s{size}.tflite")
        subprocess.run([sys.executable, __file__, *sys.argv[1:], "--measure-dir", folder], check=True)


if __name__ == "__main__":
    main()
