"""Knowledge distillation: a teacher model's probabilities as soft targets while fine-tuning.

The teacher is any model of this project with the same classes (``.keras`` or ``.tflite``):
a larger backbone, or the same weights written at a larger input size (``train.py
--export-size``), which names photos better because objects look larger to it -- or several
such models, whose mean probabilities teach as one (an ensemble of two backbones names
photos better than either: model card). Every teacher model sees each training frame
exactly as the student does, resized to its own input size, and
:class:`~vidclf.training.video_data.VideoFrameBatches` mixes its probabilities into the
targets (``train.distill_weight``) -- the student learns what the teacher would say about
the frame, not only the label (Hinton et al., "Distilling the knowledge in a neural network",
2015).

Usage::

    teacher = Teacher("runs/x256/sports22.tflite", class_names)
    ensemble = Teacher(["models/sports22.tflite", "runs/lite1/sports23.tflite"], class_names)
    probs = teacher(batch)            # (n, classes), batch: (n, size, size, 3) RGB uint8
"""

from __future__ import annotations

import threading
from pathlib import Path

import cv2
import numpy as np

from vidclf.errors import VidclfError
from vidclf.runtime.classifier import load_classifier


class Teacher:
    """One teacher model, or several (an ensemble: the mean of their probabilities)."""

    def __init__(self, paths: str | Path | list[str | Path], class_names: list[str], threads: int = 1):
        paths = [paths] if isinstance(paths, str | Path) else list(paths)
        if not paths:
            raise VidclfError("train.distill_from: no teacher model given")
        self.classifiers = [load_classifier(path, threads=threads) for path in paths]
        for path, classifier in zip(paths, self.classifiers, strict=True):
            if classifier.labels != class_names:
                raise VidclfError(f"train.distill_from {path} has classes {classifier.labels}, the data has {class_names}")
        # the batch makers run on several threads, and one TFLite interpreter serves one at a time
        self._lock = threading.Lock()
        self.frames = 0  # frames labelled so far (the run's metrics report it)

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        # resized before the lock: only the model calls need to take turns
        sized = [_at_size(batch, c.input_size) for c in self.classifiers]
        with self._lock:
            self.frames += len(batch)
            return np.mean([c.predict(x) for c, x in zip(self.classifiers, sized, strict=True)], axis=0)


def _at_size(batch: np.ndarray, size: int) -> np.ndarray:
    if batch.shape[1:3] == (size, size):
        return batch
    return np.stack([cv2.resize(image, (size, size), interpolation=cv2.INTER_LINEAR) for image in batch])
