"""Custom Keras layers that saved models of this project contain. Loading a ``.keras`` model
needs them registered, so they live with the runtime (training builds models with them).
Importing this module imports Keras: only the ``.keras`` loader and training do.

Usage::

    import vidclf.runtime.keras_layers  # noqa: F401  before keras.saving.load_model(...)
"""

from __future__ import annotations

import keras
from keras import layers


@keras.saving.register_keras_serializable(package="vidclf")
class ReverseChannels(layers.Layer):
    """RGB <-> BGR, for backbones trained on BGR input (ResNet50's caffe weights)."""

    def call(self, x):
        return keras.ops.flip(x, axis=-1)
