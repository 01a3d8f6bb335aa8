"""Export a Keras classifier to TFLite, float32 and weight-quantised.

The quantised file uses dynamic-range quantisation: int8 weights, float activations. It
needs no calibration data, is about 4x smaller, and keeps float inputs and outputs, so the
same predictor code runs either file.

Usage::

    from vidclf.training.export import export_tflite
    export_tflite(model, "models/sports22.tflite")
    export_tflite(model, "models/sports22.int8.tflite", quantize=True)
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import keras


def export_tflite(model: keras.Model, path: str | Path, quantize: bool = False) -> Path:
    """Convert ``model`` (fixed input size, batch dimension free) and write it to ``path``."""
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if quantize:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    # The converter prints a page of saved-model details to stdout; keep the console readable.
    with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
        flatbuffer = converter.convert()
    path = Path(path)
    path.write_bytes(flatbuffer)
    return path
