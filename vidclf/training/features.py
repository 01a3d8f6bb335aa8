"""Backbone features of photos and of every frame of labelled clips, computed once and cached.

Refitting a model's head (:mod:`vidclf.training.head_refit`) and cross-validating it over groups
of clips (:mod:`vidclf.evaluation.cross_validation`) need the frozen backbone's output for tens of
thousands of pictures, many times over; a forward pass is the whole cost, so it is paid once and
kept in one ``.npz`` per model and data set. Every frame goes through the streaming code's own
:func:`vidclf.runtime.preprocess.prepare_image`, and each clip also keeps the scene-cut distance
of every frame, so the smoother and decoder can be replayed on it exactly as streaming runs them.

Usage::

    model = load_keras_model("models/sports22.keras")
    clips = clip_features(model, "../shared/data/video_train", labels, background="no_sport",
                          cache_dir="runs/features")
    clips["basketball__charlesam__bbb.mp4"].features.shape    # (frames, 1280)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from vidclf.errors import VidclfError
from vidclf.runtime.preprocess import DEFAULT_FIT, colour_distance, colour_signature, prepare_image, small_copy
from vidclf.training.video_data import clip_labels

BATCH = 64  # pictures per forward pass: fills both cores without holding many frames


@dataclass(frozen=True)
class ClipFeatures:
    """One labelled clip: the backbone's features of every frame, and what replay needs."""

    name: str
    label: str | None  # class name; None: no sport
    group: str  # leak group: clips of one group share a venue or a source and are split together
    fps: float
    features: np.ndarray  # (frames, d) float32
    cut_distances: np.ndarray  # (frames,) scene-cut distance to the previous (classified) frame
    # (frames,) bool: the frames a schedule (classify_fps, change gating) classifies; None: all
    classified: np.ndarray | None = None


def split_model(model):
    """(backbone, head kernel, head bias) of a model of this project (backbone + dropout + dense)."""
    import keras

    backbone = next(layer for layer in model.layers if isinstance(layer, keras.Model))
    kernel, bias = model.get_layer("predictions").get_weights()
    return backbone, kernel, bias


def backbone_features(
    backbone, pictures: Sequence[np.ndarray] | np.ndarray, batch_size: int = BATCH, on_batch: Callable[[int], None] | None = None
) -> np.ndarray:
    """The frozen backbone's output for each picture (prepared, model-sized), ``batch_size`` at
    a time; ``on_batch(n)`` after each batch of ``n`` (a progress bar)."""
    chunks = []
    for start in range(0, len(pictures), batch_size):
        batch = np.asarray(pictures[start : start + batch_size], dtype=np.float32)
        # predict_on_batch keeps one traced function on the model: no retracing per call
        chunks.append(np.asarray(backbone.predict_on_batch(batch)))
        if on_batch is not None:
            on_batch(len(batch))
    return np.concatenate(chunks) if chunks else np.zeros((0, backbone.output_shape[-1]), np.float32)


def _model_key(model) -> str:
    """A short fingerprint of the backbone's weights and input size: a cache never outlives its
    model, and the same weights written at another input size (``--input-size``) see other
    pictures."""
    backbone = split_model(model)[0]
    digest = hashlib.sha256(str(model.input_shape[1:]).encode())
    for weights in backbone.get_weights()[:: max(1, len(backbone.get_weights()) // 16)]:
        digest.update(np.ascontiguousarray(weights).tobytes())
    return digest.hexdigest()[:16]


def clip_features(
    model,
    folder: str | Path,
    class_names: list[str],
    background: str | None = None,
    fit: str = DEFAULT_FIT,
    cache_dir: str | Path | None = None,
    progress: Callable[[str, int], None] | None = None,
) -> dict[str, ClipFeatures]:
    """Features of every frame of every clip in ``folder/labels.json`` whose class the model has
    (null clips count when the model has a ``background`` class, and are kept either way: their
    right answer is ``uncertain``), read from ``cache_dir`` when the same weights made them;
    ``progress(clip, frames)`` is called after each clip."""
    root = Path(folder)
    entries = clip_labels(root)
    key = _model_key(model)
    cache = Path(cache_dir) / f"{root.name}-{fit}-{key}.npz" if cache_dir else None
    if cache and cache.is_file():
        cached = _read_cache(cache, key)
        if cached is not None and set(cached) >= {n for n, e in entries.items() if _usable(e, class_names)}:
            return {n: c for n, c in cached.items() if n in entries}
    backbone, size = split_model(model)[0], model.input_shape[1]
    clips = {}
    for name, entry in sorted(entries.items()):
        if not _usable(entry, class_names):
            continue
        capture, pictures, cuts, previous = cv2.VideoCapture(str(root / name)), [], [], None
        fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            pictures.append(prepare_image(frame, size, fit))
            signature = colour_signature(frame)  # what SceneCutDetector.distance measures
            cuts.append(0.0 if previous is None else colour_distance(previous, signature))
            previous = signature
        capture.release()
        if not pictures:
            raise VidclfError(f"{root / name}: no frame could be decoded")
        group = str(entry.get("group") or name)
        features = backbone_features(backbone, pictures)
        clips[name] = ClipFeatures(name, entry.get("class"), group, float(fps), features, np.array(cuts, np.float32))
        if progress:
            progress(name, len(pictures))
    if cache:
        _write_cache(cache, key, clips)
    return clips


@dataclass(frozen=True)
class ClipPictures:
    """What a replay needs to decide which frames the pipeline classifies: each frame's small
    copy (the change gate's input) and colour signature (the scene-cut detector's)."""

    small: np.ndarray  # (frames, 18, 32, 3) uint8, preprocess.small_copy
    signatures: np.ndarray  # (frames, 16, 8) float32, preprocess.colour_signature


def clip_pictures(folder: str | Path, cache_dir: str | Path | None = None) -> dict[str, ClipPictures]:
    """:class:`ClipPictures` of every clip in ``folder/labels.json`` (no model involved: decoding
    only), read from ``cache_dir`` when it holds the same clips (names and sizes)."""
    root = Path(folder)
    names = sorted(clip_labels(root))
    sizes = {n: (root / n).stat().st_size if (root / n).is_file() else 0 for n in names}
    cache = Path(cache_dir) / f"{root.name}-pictures.npz" if cache_dir else None
    if cache and cache.is_file():
        with np.load(cache) as data:
            if json.loads(str(data["meta"])) == sizes:
                return {n: ClipPictures(data[f"s{i}"], data[f"g{i}"]) for i, n in enumerate(names)}
    pictures = {}
    for name in names:
        capture, small, signatures = cv2.VideoCapture(str(root / name)), [], []
        while (read := capture.read())[0]:
            small.append(small_copy(read[1]))
            signatures.append(colour_signature(read[1]))
        capture.release()
        pictures[name] = ClipPictures(np.array(small, np.uint8), np.array(signatures, np.float32))
    if cache:
        cache.parent.mkdir(parents=True, exist_ok=True)
        arrays = {f"s{i}": pictures[n].small for i, n in enumerate(names)}
        arrays |= {f"g{i}": pictures[n].signatures for i, n in enumerate(names)}
        np.savez(cache, meta=json.dumps(sizes), **arrays)
    return pictures


def _usable(entry: dict, class_names: list[str]) -> bool:
    return entry.get("class") is None or entry.get("class") in class_names


def _write_cache(path: Path, key: str, clips: dict[str, ClipFeatures]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {n: {"label": c.label, "group": c.group, "fps": c.fps} for n, c in clips.items()}
    arrays = {f"f{i}": c.features for i, c in enumerate(clips.values())}
    arrays |= {f"c{i}": c.cut_distances for i, c in enumerate(clips.values())}
    np.savez(path, meta=json.dumps({"model": key, "clips": meta}), **arrays)


def _read_cache(path: Path, key: str) -> dict[str, ClipFeatures] | None:
    with np.load(path) as data:
        meta = json.loads(str(data["meta"]))
        if meta["model"] != key:
            return None
        return {
            name: ClipFeatures(name, m["label"], m["group"], m["fps"], data[f"f{i}"], data[f"c{i}"])
            for i, (name, m) in enumerate(meta["clips"].items())
        }


def photo_features(model, images: np.ndarray) -> np.ndarray:
    """Features of prepared pictures (``(n, size, size, 3)`` RGB, as :func:`load_images` gives)."""
    return backbone_features(split_model(model)[0], images)


def split_features(model, cfg, cache_dir: str | Path | None = None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{"train" | "val" | "test": (features, labels)} of the seeded photo split that ``train.py``
    makes with ``cfg`` (a :class:`TrainConfig`), read from ``cache_dir`` when the same weights
    and split made it."""
    from vidclf.training.dataset import load_images
    from vidclf.training.trainer import plan_split

    key = _model_key(model)
    split_key = hashlib.sha256(
        json.dumps([cfg.data_dir, cfg.extra_data_dirs, cfg.background_class, cfg.seed, cfg.val_fraction,
                    cfg.test_fraction, cfg.max_images_per_class, cfg.classes, cfg.input_fit]).encode()
    ).hexdigest()[:8]  # fmt: skip
    cache = Path(cache_dir) / f"photos-{split_key}-{key}.npz" if cache_dir else None
    if cache and cache.is_file():
        with np.load(cache) as data:
            if str(data["model"]) == key:
                return {part: (data[f"{part}_x"], data[f"{part}_y"]) for part in ("train", "val", "test")}
    split, _main_test = plan_split(cfg)
    size, parts = model.input_shape[1], {}
    for part in ("train", "val", "test"):
        images, labels, _bad = load_images(getattr(split, part), size, fit=cfg.input_fit)
        parts[part] = (photo_features(model, images), labels)
    if cache:
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, model=key, **{f"{p}_{k}": v for p, (x, y) in parts.items() for k, v in (("x", x), ("y", y))})
    return parts
