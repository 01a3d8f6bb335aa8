"""Temperature scaling: make a model's probabilities mean what they say.

A network trained with cross-entropy is over-confident: "0.9" is right less than 90 % of the
time, so a fixed "uncertain below 0.5" threshold would rarely fire. Temperature scaling
(Guo et al., 2017) divides the logits by one number T > 0 fitted on held-out data by
minimising the negative log-likelihood; the ranking of classes (and so accuracy) is
unchanged. Our models end in a softmax, and ``softmax(log p / T)`` equals
``softmax(logits / T)``, so it applies to the probabilities directly.

The fitted T lives next to the model in ``<stem>.calibration.json`` (written by training,
or by ``python3 -m vidclf.runtime.calibration`` for an existing model) and is applied by the
predictor to every frame.

Usage::

    t = fit_temperature(val_probs, val_labels)           # e.g. 1.6
    calibrated = apply_temperature(probs, t)
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from vidclf.errors import VidclfError

_EPS = 1e-7


def apply_temperature(probs: np.ndarray, temperature: float) -> np.ndarray:
    """Rescale probabilities (..., n_classes) as if their logits were divided by ``temperature``."""
    if temperature == 1.0:
        return probs
    logits = np.log(np.clip(probs, _EPS, 1.0)) / temperature
    logits -= logits.max(axis=-1, keepdims=True)
    scaled = np.exp(logits)
    return (scaled / scaled.sum(axis=-1, keepdims=True)).astype(np.float32)


def negative_log_likelihood(probs: np.ndarray, labels: np.ndarray) -> float:
    return float(-np.mean(np.log(np.clip(probs[np.arange(len(labels)), labels], _EPS, 1.0))))


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


def calibration_path(model_path: str | Path) -> Path:
    """``models/sports22.tflite`` -> ``models/sports22.calibration.json``."""
    path = Path(model_path)
    return path.with_name(f"{path.name.split('.')[0]}.calibration.json")


def load_temperature(model_path: str | Path) -> float:
    """The model's fitted temperature, 1.0 (no change) when it has none."""
    path = calibration_path(model_path)
    if not path.is_file():
        return 1.0
    try:
        temperature = float(json.loads(path.read_text())["temperature"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise VidclfError(f"calibration file {path} is not valid: {exc}") from None
    if not np.isfinite(temperature) or not 0.01 <= temperature <= 100:
        raise VidclfError(f"calibration file {path}: temperature must be in 0.01-100, got {temperature}")
    return temperature


def load_class_thresholds(model_path: str | Path, labels: list[str]) -> dict[str, float]:
    """Per-class ``uncertain`` thresholds that belong to this model (``class_thresholds`` in
    its calibration file, fitted on footage it was not trained on); {} when it has none.
    ``smoothing.class_thresholds`` in the config overrides them class by class. They live with
    the model, not in the config, because they are fitted for its probabilities (and a model
    of other classes must not inherit them)."""
    path = calibration_path(model_path)
    if not path.is_file():
        return {}
    try:
        thresholds = json.loads(path.read_text()).get("class_thresholds", {})
        thresholds = {str(name): float(value) for name, value in thresholds.items()}
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        raise VidclfError(f"calibration file {path} is not valid: {exc}") from None
    for name, value in thresholds.items():
        if name not in labels or not 0.0 <= value <= 1.0:
            raise VidclfError(f"calibration file {path}: class_thresholds.{name} must name a class of the model, 0-1")
    return thresholds


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
    from vidclf.runtime.classifier import load_classifier
    from vidclf.training.dataset import load_images, scan_classes, stratified_split

    clf = load_classifier(model_path, labels_path, threads=2)
    class_names, items = scan_classes(train_cfg.data_dir, clf.labels, train_cfg.max_images_per_class)
    split = stratified_split(class_names, items, train_cfg.val_fraction, train_cfg.test_fraction, train_cfg.seed)
    images, labels, _bad = load_images(split.val, clf.input_size)
    probs = np.concatenate([clf.predict(images[i : i + 32]) for i in range(0, len(images), 32)])
    return write_calibration(model_path, probs, labels, f"validation split of {train_cfg.data_dir} (seed {train_cfg.seed})")


if __name__ == "__main__":  # python3 -m vidclf.runtime.calibration MODEL [CONFIG]
    import sys

    from vidclf.config import load_config

    config = load_config(sys.argv[2] if len(sys.argv) > 2 else None)
    print(json.dumps(calibrate_on_validation_split(sys.argv[1], config.train), indent=1))
