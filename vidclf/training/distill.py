"""Knowledge distillation: a teacher model's probabilities as soft targets while fine-tuning.

The teacher is any model of this project with the same classes (``.keras`` or ``.tflite``):
a larger backbone, or the same weights written at a larger input size (``train.py
--export-size``), which names photos better because objects look larger to it. It sees each
training frame exactly as the student does, resized to its own input size, and
:class:`~vidclf.training.video_data.VideoFrameBatches` mixes its probabilities into the
targets (``train.distill_weight``) -- the student learns what the teacher would say about
the frame, not only the label (Hinton et al., "Distilling the knowledge in a neural network",
2015).

Usage::

    teacher = Teacher("runs/x256/sports22.tflite", class_names)
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
    def __init__(self, path: str | Path, class_names: list[str], threads: int = 1):
        self.classifier = load_classifier(path, threads=threads)
        if self.classifier.labels != class_names:
            raise VidclfError(f"train.distill_from {path} has classes {self.classifier.labels}, the data has {class_names}")
        # the batch makers run on several threads, and one TFLite interpreter serves one at a time
        self._lock = threading.Lock()
        self.frames = 0  # frames labelled so far (the run's metrics report it)

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        size = self.classifier.input_size
        if batch.shape[1:3] != (size, size):
            batch = np.stack([cv2.resize(image, (size, size), interpolation=cv2.INTER_LINEAR) for image in batch])
        with self._lock:
            self.frames += len(batch)
            return self.classifier.predict(batch)
