"""Export a Keras classifier to TFLite (float32 and weight-quantised) and ONNX (float32 and
full-integer), and check an exported file against the Keras model.

The quantised ``.tflite`` uses dynamic-range quantisation: int8 weights, float activations. It
needs no calibration data and is about 4x smaller, but on x86 it runs *slower* than the float
file. The full-integer ``.int8.onnx`` (:mod:`vidclf.training.quantize`) is the fast one: it is
calibrated on photos and runs on onnxruntime. Every file keeps float inputs and outputs, so the
same predictor code runs them all.

Usage::

    from vidclf.training.export import export_tflite, with_input_size
    export_tflite(model, "models/sports22.tflite")
    export_tflite(model, "models/sports22.int8.tflite", quantize=True)
    export_tflite(with_input_size(model, 256), "runs/x/x256.tflite")       # same weights, 256 px input
    export_onnx(model, "models/sports22.onnx")
    check_export(model, "models/sports22.onnx")     # largest probability difference
    export_onnx_int8(model, "models/sports22.int8.onnx", calibration_images)
    top1_agreement(model, "models/sports22.int8.onnx", held_out_images)   # share of equal top-1
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

import keras
import numpy as np

from vidclf.errors import VidclfError


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


def with_input_size(model: keras.Model, size: int) -> keras.Model:
    """The same network and weights, built for ``size`` x ``size`` inputs.

    Every layer of these classifiers is convolutional up to the global pooling, so the weights
    fit any input size; only the input layers (the outer model's and the backbone's) change.
    Why: a network fine-tuned on random crops sees objects larger than they are in a whole
    frame, and runs best at a somewhat larger input than it was trained at (Touvron et al.,
    "Fixing the train-test resolution discrepancy", 2019; measured for sports22 in its card).
    """

    def resize_inputs(node):
        if isinstance(node, dict):
            if node.get("class_name") == "InputLayer":
                config = node["config"]
                key = "batch_shape" if "batch_shape" in config else "batch_input_shape"
                config[key] = [None, size, size, config[key][-1]]
            for value in node.values():
                resize_inputs(value)
        elif isinstance(node, list):
            for value in node:
                resize_inputs(value)

    config = model.get_config()
    resize_inputs(config)
    resized = model.__class__.from_config(config)
    resized.set_weights(model.get_weights())
    return resized


def export_onnx(model: keras.Model, path: str | Path) -> Path:
    """Write ``model`` as ONNX through Keras 3's own exporter (tf2onnx underneath)."""
    try:
        import tf2onnx  # noqa: F401
    except ImportError:
        raise VidclfError("ONNX export needs tf2onnx: pip install tf2onnx onnxruntime") from None
    path = Path(path)
    size = int(model.input_shape[1])
    model(np.zeros((1, size, size, 3), np.float32), training=False)  # Keras exports only a model that has run
    try:
        with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
            model.export(str(path), format="onnx", verbose=False)
    except Exception as exc:  # the converter raises many types; its first line says what failed
        raise VidclfError(f"ONNX export of the model failed: {str(exc).strip().splitlines()[0][:200]}") from None
    return path


def export_onnx_int8(model: keras.Model, path: str | Path, calibration: np.ndarray) -> Path:
    """Write ``model`` as a full-integer ONNX file calibrated on ``calibration`` (uint8 images)."""
    from vidclf.training.quantize import quantize_onnx

    with tempfile.TemporaryDirectory() as tmp:
        float_path = export_onnx(model, Path(tmp) / "float.onnx")
        return quantize_onnx(float_path, path, calibration)


def _run_exported(path: Path, images: np.ndarray, n_classes: int) -> np.ndarray:
    """The exported file's probabilities, from the runtime class the pipeline runs it with."""
    from vidclf.runtime.classifier import OnnxClassifier, TFLiteClassifier

    runtime = OnnxClassifier if path.suffix == ".onnx" else TFLiteClassifier
    clf = runtime(path, [str(i) for i in range(n_classes)], threads=2)
    return np.concatenate([clf.predict(images[i : i + 1]) for i in range(len(images))])


def top1_agreement(model: keras.Model, path: str | Path, images: np.ndarray) -> float:
    """Share of ``images`` on which the exported file's top class is the Keras model's.

    The check for int8 files: their probabilities move by a few hundredths, so a largest
    difference says little; what a user sees is whether the label changes."""
    images = images.astype(np.float32)
    expected = np.asarray(model(images, training=False))
    got = _run_exported(Path(path), images, expected.shape[-1])
    return float(np.mean(expected.argmax(1) == got.argmax(1)))


def check_export(model: keras.Model, path: str | Path, samples: int = 8, seed: int = 0) -> float:
    """Largest absolute difference between ``model`` and the exported file's probabilities,
    on the same ``samples`` images (smooth random pictures in the model's input range)."""
    size = int(model.input_shape[1])
    rng = np.random.default_rng(seed)
    coarse = rng.uniform(0, 255, (samples, 8, 8, 3)).astype(np.float32)
    images = np.asarray(keras.ops.image.resize(coarse, (size, size)), dtype=np.float32)
    expected = np.asarray(model(images, training=False))
    return float(np.max(np.abs(_run_exported(Path(path), images, expected.shape[-1]) - expected)))
