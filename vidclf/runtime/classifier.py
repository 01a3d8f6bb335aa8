"""Load a trained classifier (``.keras``, ``.tflite`` or ``.onnx``) with its labels, behind one interface.

Every kind takes RGB uint8 images of the model's square input size (see
:func:`vidclf.runtime.preprocess.prepare_image`) and return class probabilities. The Keras path calls
a compiled ``tf.function`` directly: ``model.predict`` per frame is slow (it builds a
dataset every call) and grows memory over long runs.

Usage::

    from vidclf.runtime.classifier import load_classifier
    clf = load_classifier("models/sports22.tflite")
    probs = clf.predict(batch_rgb_uint8)        # (N, len(clf.labels)) float32
    fast = load_classifier("models/sports22.int8.onnx")   # int8 on onnxruntime (the onnx extra)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Protocol

import numpy as np

from vidclf.errors import VidclfError, require_tensorflow
from vidclf.runtime.calibration import load_calibration


class Classifier(Protocol):
    labels: list[str]
    input_size: int
    temperature: float  # calibration applied by the predictor (1.0: none)
    class_thresholds: dict[str, float]  # the model's own per-class "uncertain" thresholds ({}: none)

    def predict(self, images: np.ndarray) -> np.ndarray: ...


def default_labels_path(model_path: str | Path) -> Path:
    """``models/sports22.tflite`` -> ``models/sports22.labels.json`` (also for ``.int8.tflite``)."""
    path = Path(model_path)
    stem = path.name.split(".")[0]
    return path.with_name(f"{stem}.labels.json")


def load_labels(path: str | Path) -> list[str]:
    path = Path(path)
    if not path.is_file():
        raise VidclfError(f"labels file not found: {path}")
    try:
        labels = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise VidclfError(f"labels file {path} is not valid JSON: {exc}") from None
    if not isinstance(labels, list) or not labels or not all(isinstance(x, str) for x in labels):
        raise VidclfError(f"labels file {path} must hold a non-empty JSON list of class names")
    return labels


class KerasClassifier:
    """A ``.keras`` model run through one compiled function (no ``model.predict``)."""

    def __init__(self, path: Path, labels: list[str], threads: int):
        require_tensorflow(f"the .keras model {path.name} (a .tflite model runs without it)")
        import tensorflow as tf

        # Thread settings only apply before TensorFlow's first op; later calls raise.
        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(1)
        except RuntimeError:
            pass
        from vidclf.runtime.keras_layers import load_keras_model

        self.model = load_keras_model(path)
        shape = self.model.input_shape
        if len(shape) != 4 or shape[1] != shape[2] or shape[3] != 3:
            raise VidclfError(f"{path}: expected an image model with input (N, S, S, 3), got {shape}")
        self.input_size = int(shape[1])
        self.labels = labels
        # One graph for every batch size, traced by load_classifier's probe call: without a
        # signature the first full batch in the pipeline retraced the model (~1 s stall, measured).
        spec = tf.TensorSpec([None, self.input_size, self.input_size, 3], tf.float32)
        self._call = tf.function(lambda x: self.model(x, training=False), input_signature=[spec])

    def predict(self, images: np.ndarray) -> np.ndarray:
        return np.asarray(self._call(images.astype(np.float32, copy=False)))


def _litert_interpreter(**kwargs):
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:  # fall back to TensorFlow's deprecated copy of the same interpreter
        import tensorflow as tf

        Interpreter = tf.lite.Interpreter
    return Interpreter(**kwargs)


class TFLiteClassifier:
    """A ``.tflite`` model on the LiteRT interpreter (XNNPACK on CPU)."""

    def __init__(self, path: Path, labels: list[str], threads: int):
        try:
            self.interpreter = _litert_interpreter(model_path=str(path), num_threads=threads)
            self.interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise VidclfError(f"cannot load TFLite model {path}: {str(exc).splitlines()[0][:200]}") from None
        inp = self.interpreter.get_input_details()[0]
        shape = inp["shape"]
        if len(shape) != 4 or shape[1] != shape[2] or shape[3] != 3:
            raise VidclfError(f"{path}: expected an image model with input (N, S, S, 3), got {list(shape)}")
        self.input_size = int(shape[1])
        self.labels = labels
        self._input = inp["index"]
        self._output = self.interpreter.get_output_details()[0]["index"]
        if int(shape[0]) != 1:
            self.interpreter.resize_tensor_input(self._input, [1, *shape[1:]])
            self.interpreter.allocate_tensors()

    def predict(self, images: np.ndarray) -> np.ndarray:
        # One invoke per image on fixed batch-1 tensors: XNNPACK gains nothing from batching
        # here (measured), and resizing the input tensor re-plans the whole graph every time.
        images = images.astype(np.float32, copy=False)
        out = []
        for image in images:
            self.interpreter.set_tensor(self._input, image[np.newaxis])
            self.interpreter.invoke()
            out.append(self.interpreter.get_tensor(self._output)[0].copy())
        return np.stack(out) if out else np.zeros((0, len(self.labels)), np.float32)


class OnnxClassifier:
    """An ``.onnx`` model on onnxruntime's CPU provider: the runtime for int8 files
    (:mod:`vidclf.training.quantize` says why), float ``.onnx`` files too."""

    def __init__(self, path: Path, labels: list[str], threads: int):
        try:
            import onnxruntime
        except ImportError:
            raise VidclfError(f"the ONNX model {path.name} needs onnxruntime: pip install onnxruntime") from None
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # errors only: the pipeline reports what matters in one line
        # Between frames the pool's threads would otherwise spin waiting for work: at 30 frames/s
        # 34 vs 12 CPU ms a frame (measured, 2 threads). Waking them instead adds 2-4 ms to a
        # frame's inference (7 -> 9-11 ms), which a 33 ms frame interval absorbs.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types for a bad file
            raise VidclfError(f"cannot load ONNX model {path}: {str(exc).strip().splitlines()[0][:200]}") from None
        inp = self.session.get_inputs()[0]
        shape = inp.shape  # the batch dimension is a name ("N") when free
        if len(shape) != 4 or not isinstance(shape[1], int) or shape[1] != shape[2] or shape[3] != 3:
            raise VidclfError(f"{path}: expected an image model with input (N, S, S, 3), got {shape}")
        self.input_size = int(shape[1])
        self.labels = labels
        self._input = inp.name
        self._one_at_a_time = shape[0] == 1

    def predict(self, images: np.ndarray) -> np.ndarray:
        images = images.astype(np.float32, copy=False)
        if len(images) == 0:
            return np.zeros((0, len(self.labels)), np.float32)
        if self._one_at_a_time:
            return np.concatenate([self.session.run(None, {self._input: image[np.newaxis]})[0] for image in images])
        return self.session.run(None, {self._input: images})[0]


def model_sha256(path: str | Path) -> str | None:
    """The model file's SHA-256 (hex), which names exactly what classified a run; None when
    the file cannot be read (a stand-in classifier)."""
    import hashlib

    digest = hashlib.sha256()
    try:
        with open(path, "rb") as file:
            for block in iter(lambda: file.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return None
    return digest.hexdigest()


def load_classifier(model_path: str | Path, labels_path: str | Path | None = None, threads: int = 2) -> Classifier:
    """Load a classifier and check that its labels match its outputs.

    Raises :class:`VidclfError` (one line) for a missing or unreadable model, a missing or
    malformed labels file, or a label count that differs from the model's output size.
    """
    path = Path(model_path)
    if not path.is_file():
        raise VidclfError(f"model file not found: {path}")
    labels = load_labels(labels_path or default_labels_path(path))
    suffix = path.suffix.lower()
    if suffix == ".tflite":
        clf: Classifier = TFLiteClassifier(path, labels, threads)
    elif suffix in (".keras", ".h5"):
        clf = KerasClassifier(path, labels, threads)
    elif suffix == ".onnx":
        clf = OnnxClassifier(path, labels, threads)
    else:
        raise VidclfError(f"unsupported model file {path}: use a .tflite, .keras or .onnx file")
    probe = clf.predict(np.zeros((1, clf.input_size, clf.input_size, 3), np.uint8))
    if probe.ndim != 2 or probe.shape[1] != len(labels):
        raise VidclfError(f"labels do not match the model: {len(labels)} labels, model outputs {probe.shape[-1]} classes")
    clf.temperature, clf.class_thresholds = load_calibration(path, labels)
    return clf
