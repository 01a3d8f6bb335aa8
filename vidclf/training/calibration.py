"""Fit a model's calibration (temperature scaling, :mod:`vidclf.runtime.calibration`) and write
its ``<stem>.calibration.json``.

Usage::

    t = fit_temperature(val_probs, val_labels)           # e.g. 1.6
    write_calibration("runs/x/x.keras", val_probs, val_labels, "validation split")

    python3 -m vidclf.training.calibration MODEL [CONFIG]  # an existing model, on its split
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from vidclf.errors import VidclfError
from vidclf.runtime.calibration import PROB_FLOOR, apply_temperature, calibration_path
from vidclf.runtime.classifier import load_classifier
from vidclf.training.dataset import load_images, scan_classes, stratified_split


def negative_log_likelihood(probs: np.ndarray, labels: np.ndarray) -> float:
    return float(-np.mean(np.log(np.clip(probs[np.arange(len(labels)), labels], PROB_FLOOR, 1.0))))


def fit_temperature(probs: np.ndarray, labels: np.ndarray, low: float = 0.05, high: float = 20.0) -> float:
    """The T that minimises the NLL of ``labels`` under ``apply_temperature(probs, T)``.

    The NLL is convex in 1/T, so a golden-section search over log T finds it (numpy only).
    """
    if len(labels) == 0:
        raise VidclfError("cannot calibrate on an empty set")
    a, b = np.log(low), np.log(high)
    ratio = (np.sqrt(5) - 1) / 2

    def loss(log_t: float) -> float:
        return negative_log_likelihood(apply_temperature(probs, float(np.exp(log_t))), labels)

    c, d = b - ratio * (b - a), a + ratio * (b - a)
    for _ in range(60):
        if loss(c) < loss(d):
            b, d = d, c
            c = b - ratio * (b - a)
        else:
            a, c = c, d
            d = a + ratio * (b - a)
    return float(np.exp((a + b) / 2))


def write_calibration(model_path: str | Path, probs: np.ndarray, labels: np.ndarray, fitted_on: str) -> dict:
    """Fit T on ``(probs, labels)`` and write ``<stem>.calibration.json``; returns its content."""
    temperature = fit_temperature(probs, labels)
    info = {
        "temperature": round(temperature, 4),
        "fitted_on": fitted_on,
        "images": int(len(labels)),
        "nll_before": round(negative_log_likelihood(probs, labels), 4),
        "nll_after": round(negative_log_likelihood(apply_temperature(probs, temperature), labels), 4),
    }
    calibration_path(model_path).write_text(json.dumps(info, indent=1) + "\n")
    return info


def calibrate_on_validation_split(model_path: str | Path, train_cfg, labels_path: str | Path | None = None) -> dict:
    """Fit the temperature of an existing model on the validation part of the split that
    ``train_cfg`` defines (same data folder, fractions and seed as its training run)."""
    clf = load_classifier(model_path, labels_path, threads=2)
    class_names, items = scan_classes(train_cfg.data_dir, clf.labels, train_cfg.max_images_per_class)
    split = stratified_split(class_names, items, train_cfg.val_fraction, train_cfg.test_fraction, train_cfg.seed)
    images, labels, _bad = load_images(split.val, clf.input_size)
    probs = np.concatenate([clf.predict(images[i : i + 32]) for i in range(0, len(images), 32)])
    return write_calibration(model_path, probs, labels, f"validation split of {train_cfg.data_dir} (seed {train_cfg.seed})")


if __name__ == "__main__":  # python3 -m vidclf.training.calibration MODEL [CONFIG]
    import sys

    from vidclf.config import load_config

    config = load_config(sys.argv[2] if len(sys.argv) > 2 else None)
    print(json.dumps(calibrate_on_validation_split(sys.argv[1], config.train), indent=1))


def write_class_thresholds(model_path: str | Path, thresholds: dict[str, float], fitted_on: str) -> dict:
    """Store per-class ``uncertain`` thresholds in the model's calibration file (which must
    exist: they are fitted to its calibrated probabilities); returns the file's content."""
    path = calibration_path(model_path)
    info = json.loads(path.read_text())
    info.pop("class_thresholds", None)
    info.pop("class_thresholds_fitted_on", None)
    if thresholds:
        info |= {"class_thresholds": dict(sorted(thresholds.items())), "class_thresholds_fitted_on": fitted_on}
    path.write_text(json.dumps(info, indent=1) + "\n")
    return info
