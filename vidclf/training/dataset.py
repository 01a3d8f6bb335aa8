"""Class-folder image datasets: discovery, a seeded stratified split, and parallel loading.

A dataset is a folder holding one sub-folder per class (``sports/tennis/*.jpg``). Unreadable
images are skipped and counted, never silently: the caller reports them.

Usage::

    from vidclf.training.dataset import scan_classes, stratified_split, load_images
    items = scan_classes("../shared/data/sports", ["football", "tennis"])
    split = stratified_split(items, val_fraction=0.15, test_fraction=0.15, seed=42)
    images, labels, bad = load_images(split.train, size=224)
"""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from vidclf.errors import VidclfError
from vidclf.runtime.preprocess import DEFAULT_FIT, prepare_image

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}


@dataclass(frozen=True)
class LabelledImage:
    path: Path
    label: int


@dataclass(frozen=True)
class DatasetSplit:
    class_names: list[str]
    train: list[LabelledImage]
    val: list[LabelledImage]
    test: list[LabelledImage]


def scan_classes(
    data_dir: str | Path, classes: list[str] | None = None, max_per_class: int = 0
) -> tuple[list[str], list[LabelledImage]]:
    """List ``(class names, images)`` under ``data_dir``; ``classes`` picks a subset, in order.

    Raises :class:`VidclfError` for a missing folder, an unknown class, a class without
    images, or fewer than two classes.
    """
    root = Path(data_dir)
    if not root.is_dir():
        raise VidclfError(f"data folder not found: {root}")
    available = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    names = list(classes) if classes else available
    unknown = [c for c in names if c not in available]
    if unknown:
        raise VidclfError(f"class folder(s) not found in {root}: {', '.join(unknown)}")
    if len(names) < 2:
        raise VidclfError(f"need at least 2 classes to train, found {len(names)} in {root}")
    items: list[LabelledImage] = []
    for label, name in enumerate(names):
        files = sorted(p for p in (root / name).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if max_per_class:
            files = files[:max_per_class]
        if not files:
            raise VidclfError(f"class {name!r} has no images in {root / name}")
        items += [LabelledImage(f, label) for f in files]
    return names, items


def stratified_split(
    class_names: list[str], items: list[LabelledImage], val_fraction: float, test_fraction: float, seed: int
) -> DatasetSplit:
    """Split every class with the same fractions (seeded shuffle); each part gets >= 1 image per class."""
    rng = random.Random(seed)
    train, val, test = [], [], []
    for label, name in enumerate(class_names):
        members = [it for it in items if it.label == label]
        rng.shuffle(members)
        n_test = max(1, round(len(members) * test_fraction))
        n_val = max(1, round(len(members) * val_fraction)) if val_fraction > 0 else 0
        if len(members) - n_test - n_val < 1:
            raise VidclfError(f"class {name!r} has {len(members)} image(s): too few to split into train/val/test")
        test += members[:n_test]
        val += members[n_test : n_test + n_val]
        train += members[n_test + n_val :]
    return DatasetSplit(class_names, train, val, test)


def decode_image(path: Path) -> np.ndarray | None:
    """The BGR image in ``path``, or None when it cannot be decoded."""
    # imdecode(fromfile) instead of imread: it does not print warnings for broken files
    data = np.fromfile(str(path), dtype=np.uint8)
    return cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None


def _read(path: Path, size: int, fit: str) -> np.ndarray | None:
    image = decode_image(path)
    return None if image is None else prepare_image(image, size, fit)


def load_images(
    items: list[LabelledImage], size: int, workers: int = 2, fit: str = DEFAULT_FIT
) -> tuple[np.ndarray, np.ndarray, list[Path]]:
    """Decode and resize ``items`` in parallel; return ``(images uint8 NHWC RGB, labels, unreadable paths)``."""
    with ThreadPoolExecutor(max_workers=workers) as pool:  # cv2 releases the GIL while decoding
        decoded = list(pool.map(lambda it: _read(it.path, size, fit), items))
    keep = [i for i, img in enumerate(decoded) if img is not None]
    bad = [items[i].path for i, img in enumerate(decoded) if img is None]
    images = np.stack([decoded[i] for i in keep]) if keep else np.zeros((0, size, size, 3), np.uint8)
    labels = np.array([items[i].label for i in keep], dtype=np.int64)
    return images, labels, bad
