"""Training material beyond one folder of photos, and the batches that make it look like video.

* :func:`extra_items` — more class folders (e.g. ``sports_extra/``), split with the same
  fractions and seed as the main set; folders of classes the model does not have are skipped.
* :func:`video_frames` — frames of labelled training clips (a folder with a ``labels.json`` as
  in ``video_train/``), every ``step``-th frame of each clip whose class the model has.
* :func:`load_raw` — decoded BGR images, longer side capped (augmentation reframes them).
* :class:`VideoFrameBatches` — a Keras ``PyDataset`` that turns each image into a random
  video-like frame (:func:`vidclf.training.augment.video_frame`) and prepares it exactly as streaming
  does (:func:`vidclf.runtime.preprocess.prepare_image`), fresh every epoch.

Usage::

    items = extra_items("../shared/data/sports_extra", class_names, 0.15, 0.15, seed=42)
    frames, labels = video_frames("../shared/data/video_train", class_names, step=5)
    batches = VideoFrameBatches(images, labels, n_classes=22, batch_size=32, size=224)
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import keras
import numpy as np

from vidclf.errors import VidclfError
from vidclf.runtime.preprocess import DEFAULT_FIT, prepare_image
from vidclf.training.augment import video_frame
from vidclf.training.dataset import IMAGE_SUFFIXES, LabelledImage, decode_image

MAX_SIDE = 480  # longer side kept for augmentation: more than any model input, a fraction of 1080p
# Negatives ("no sport, or not one of ours") in an extra class-folder tree, as in sports_extra/
NEGATIVES_FOLDER = "_none"


def _cap(image: np.ndarray, max_side: int = MAX_SIDE) -> np.ndarray:
    h, w = image.shape[:2]
    scale = max_side / max(h, w)
    return cv2.resize(image, (int(w * scale), int(h * scale)), interpolation=cv2.INTER_AREA) if scale < 1 else image


def extra_items(
    folder: str | Path,
    class_names: list[str],
    val_fraction: float,
    test_fraction: float,
    seed: int,
    background: str | None = None,
) -> tuple[list[LabelledImage], list[LabelledImage], list[LabelledImage]]:
    """(train, val, test) items from ``folder``'s class folders that name one of ``class_names``;
    with a ``background`` class, its images are those of the ``_none`` folder."""
    root = Path(folder)
    if not root.is_dir():
        raise VidclfError(f"extra data folder not found: {root}")
    rng = random.Random(seed)
    train, val, test = [], [], []
    for label, name in enumerate(class_names):
        sub = root / (NEGATIVES_FOLDER if name == background else name)
        files = sorted(p for p in sub.glob("*") if p.suffix.lower() in IMAGE_SUFFIXES) if sub.is_dir() else []
        rng.shuffle(files)
        n_test, n_val = round(len(files) * test_fraction), round(len(files) * val_fraction)
        test += [LabelledImage(f, label) for f in files[:n_test]]
        val += [LabelledImage(f, label) for f in files[n_test : n_test + n_val]]
        train += [LabelledImage(f, label) for f in files[n_test + n_val :]]
    return train, val, test


def clip_labels(folder: str | Path) -> dict[str, dict]:
    """``folder/labels.json``'s clips: file name -> entry (``class``: a class or null for no
    sport, ``group``: clips that share a venue or source, split together)."""
    root = Path(folder)
    try:
        clips = json.loads((root / "labels.json").read_text())["clips"]
    except (OSError, ValueError, KeyError) as exc:
        raise VidclfError(f"{root}: no usable labels.json ({exc})") from None
    if not isinstance(clips, dict):
        raise VidclfError(f"{root}: no usable labels.json (its clips are not a mapping)")
    return clips


def video_frames(
    folder: str | Path, class_names: list[str], step: int = 5, background: str | None = None
) -> tuple[list[np.ndarray], np.ndarray]:
    """Every ``step``-th frame (BGR, capped) of the clips in ``folder/labels.json`` whose class
    is one of ``class_names``; clips of no sport (class null) become the ``background`` class,
    or are left out without one."""
    root = Path(folder)
    clips = clip_labels(root)
    images, labels = [], []
    for name, entry in sorted(clips.items()):
        label = entry.get("class") or background
        if label not in class_names:
            continue
        capture = cv2.VideoCapture(str(root / name))
        index = 0
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            if index % step == 0:
                images.append(_cap(frame))
                labels.append(class_names.index(label))
            index += 1
        capture.release()
    return images, np.array(labels, dtype=np.int64)


def load_raw(items: list[LabelledImage], workers: int = 2) -> tuple[list[np.ndarray], np.ndarray]:
    """Decode ``items`` as BGR (longer side capped); unreadable files are left out."""

    def read(item: LabelledImage) -> np.ndarray | None:
        image = decode_image(item.path)
        return None if image is None else _cap(image)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        decoded = list(pool.map(read, items))
    keep = [i for i, image in enumerate(decoded) if image is not None]
    return [decoded[i] for i in keep], np.array([items[i].label for i in keep], dtype=np.int64)


class VideoFrameBatches(keras.utils.PyDataset):
    """Shuffled batches of video-like frames made afresh from ``images`` every epoch."""

    def __init__(
        self,
        images: list[np.ndarray],
        labels: np.ndarray,
        n_classes: int,
        batch_size: int,
        size: int,
        fit: str = DEFAULT_FIT,
        seed: int = 0,
        class_weights: dict[int, float] | None = None,
        teacher: Callable[[np.ndarray], np.ndarray] | None = None,
        teacher_weight: float = 0.5,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.images, self.labels, self.n_classes = images, labels, n_classes
        # soft targets: (1 - teacher_weight) x the label + teacher_weight x teacher(batch)
        self.teacher, self.teacher_weight = teacher, teacher_weight
        weights = class_weights or {}
        self.weights = np.array([weights.get(int(label), 1.0) for label in labels], np.float32)
        self.batch_size, self.size, self.fit = batch_size, size, fit
        self.seed, self.epoch = seed, 0
        self.order = np.random.default_rng(seed).permutation(len(images))

    def __len__(self) -> int:
        return (len(self.images) + self.batch_size - 1) // self.batch_size

    def __getitem__(self, index: int):
        picked = self.order[index * self.batch_size : (index + 1) * self.batch_size]
        rng = np.random.default_rng((self.seed, self.epoch, index))
        x = np.stack([prepare_image(video_frame(self.images[i], rng), self.size, self.fit) for i in picked])
        y = keras.utils.to_categorical(self.labels[picked], self.n_classes)
        if self.teacher is not None:
            y = (1.0 - self.teacher_weight) * y + self.teacher_weight * self.teacher(x)
        return x.astype(np.float32), y, self.weights[picked]

    def on_epoch_end(self) -> None:
        self.epoch += 1
        self.order = np.random.default_rng((self.seed, self.epoch)).permutation(len(self.images))
