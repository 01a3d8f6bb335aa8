"""Temperature scaling: make a model's probabilities mean what they say.

A network trained with cross-entropy is over-confident: "0.9" is right less than 90 % of the
time, so a fixed "uncertain below 0.5" threshold would rarely fire. Temperature scaling
(Guo et al., 2017) divides the logits by one number T > 0 fitted on held-out data by
minimising the negative log-likelihood; the ranking of classes (and so accuracy) is
unchanged. Our models end in a softmax, and ``softmax(log p / T)`` equals
``softmax(logits / T)``, so it applies to the probabilities directly.

The fitted T lives next to the model in ``<stem>.calibration.json`` and is applied by the
predictor to every frame. Fitting it is training's business (:mod:`vidclf.training.calibration`,
also ``python3 -m vidclf.training.calibration`` for an existing model); this module only reads
and applies it, and needs neither TensorFlow nor training code.

Usage::

    temperature, _thresholds = load_calibration("models/sports22.tflite", labels)
    calibrated = apply_temperature(probs, temperature)
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from vidclf.errors import VidclfError

PROB_FLOOR = 1e-7  # probabilities are clipped here before a log


def apply_temperature(probs: np.ndarray, temperature: float) -> np.ndarray:
    """Rescale probabilities (..., n_classes) as if their logits were divided by ``temperature``."""
    if temperature == 1.0:
        return probs
    logits = np.log(np.clip(probs, PROB_FLOOR, 1.0)) / temperature
    logits -= logits.max(axis=-1, keepdims=True)
    scaled = np.exp(logits)
    return (scaled / scaled.sum(axis=-1, keepdims=True)).astype(np.float32)


def calibration_path(model_path: str | Path) -> Path:
    """``models/sports22.tflite`` -> ``models/sports22.calibration.json``."""
    path = Path(model_path)
    return path.with_name(f"{path.name.split('.')[0]}.calibration.json")


def load_calibration(model_path: str | Path, labels: list[str]) -> tuple[float, dict[str, float]]:
    """The model's calibration file, read once: its fitted temperature (1.0, no change, when
    it has none) and its own per-class ``uncertain`` thresholds ({} when none).

    The thresholds (``class_thresholds``) are fitted on footage the model was not trained on;
    ``smoothing.class_thresholds`` in the config overrides them class by class. They live with
    the model, not in the config, because they are fitted for its probabilities (and a model
    of other classes must not inherit them)."""
    path = calibration_path(model_path)
    if not path.is_file():
        return 1.0, {}
    try:
        data = json.loads(path.read_text())
        temperature = float(data["temperature"])
        thresholds = {str(name): float(value) for name, value in data.get("class_thresholds", {}).items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise VidclfError(f"calibration file {path} is not valid: {exc}") from None
    if not np.isfinite(temperature) or not 0.01 <= temperature <= 100:
        raise VidclfError(f"calibration file {path}: temperature must be in 0.01-100, got {temperature}")
    for name, value in thresholds.items():
        if name not in labels or not 0.0 <= value <= 1.0:
            raise VidclfError(f"calibration file {path}: class_thresholds.{name} must name a class of the model, 0-1")
    return temperature, thresholds
