"""Weight averaging of fine-tuned models ("model soup", Wortsman et al., 2022).

Models fine-tuned from the same starting model by different runs sit in one basin of the
loss; the mean of their weights is one model of the same size and speed that is often more
accurate and better calibrated than each of them (measured here: two Lite0 runs at image
test accuracy 0.921 each average to 0.927, see ``models/MODEL_CARD.md``). Models that do not
share a starting point average to nonsense: only mix runs of one lineage.

Usage::

    model = average_models([("runs/a/a.keras", model_a), ("runs/b/b.keras", model_b)])
"""

from __future__ import annotations

import numpy as np

from vidclf.errors import VidclfError


def average_models(models: list[tuple[str, object]]):
    """The first model, its weights replaced by the mean of every model's weights (batch-norm
    statistics included). ``models``: ``(path, keras.Model)`` pairs; the path names a model in
    the error when the architectures differ."""
    if len(models) < 2:
        raise VidclfError("train.average_models needs two models or more")
    (first_path, first), *others = models
    shapes = [tuple(w.shape) for w in first.weights]
    for path, model in others:
        if [tuple(w.shape) for w in model.weights] != shapes:
            raise VidclfError(f"train.average_models: {path} is not the same network as {first_path} (weight shapes differ)")
    weights = [model.get_weights() for _, model in models]
    means = [np.mean(tensors, axis=0, dtype=np.float64).astype(tensors[0].dtype) for tensors in zip(*weights, strict=True)]
    first.set_weights(means)
    return first
