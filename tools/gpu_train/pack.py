"""Pack what a GPU fine-tuning run needs into a few files that travel to a GPU machine.

The GPU machines lent to this project have PyTorch but no TensorFlow, and take at most
~64 MB per call. This writes, from the same seeded split as ``train.py`` (``plan_split``: the
test photos are never packed), into ``OUT/``:

* ``dataK.npz`` — the training images (photos + every ``--video-frame-step``-th frame of the
  training clips, longer side capped as ``train.py`` caps it) and the validation photos,
  re-encoded as WebP, split into files of at most ``--chunk-mb`` MB;
* ``start.npz`` — the start model's weights in the PyTorch layout (:mod:`vidclf.training.lite_layout`);
* ``check.npz`` — a few prepared validation images with the start model's Keras
  probabilities: the PyTorch copy must reproduce them before it trains;
* ``meta.json`` — class names, class weights, input size and fit, what was packed.

Usage (then ``tools/gpu_train/finetune.py`` on the GPU, ``tools/gpu_train/unpack.py`` here)::

    python3 tools/gpu_train/pack.py .gpu/pack --init-model models/sports22.keras \\
        --extra-data ../shared/data/sports_extra --video-dir ../shared/data/video_train --background-class no_sport
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from vidclf.config import load_config  # noqa: E402
from vidclf.errors import VidclfError  # noqa: E402
from vidclf.runtime.preprocess import prepare_image  # noqa: E402
from vidclf.training.backbones import lite_variant, model_state_dict  # noqa: E402
from vidclf.training.trainer import class_weights, plan_split, start_model  # noqa: E402
from vidclf.training.video_data import load_raw, video_frames  # noqa: E402

CHECK_IMAGES = 8


def _webp(image: np.ndarray, quality: int) -> np.ndarray:
    ok, data = cv2.imencode(".webp", image, [cv2.IMWRITE_WEBP_QUALITY, quality])
    if not ok:
        raise VidclfError("cannot encode an image as WebP")
    return data.ravel()


def _write_chunks(out: Path, parts: dict[str, tuple[list[np.ndarray], np.ndarray]], quality: int, chunk_mb: float) -> list[str]:
    """Write every part's images (WebP) into dataK.npz files of at most ``chunk_mb`` MB each:
    per part, ``{part}_bytes`` (all images, one after another), ``{part}_offsets`` (where each
    starts, and the end) and ``{part}_labels``."""
    items = [
        (part, int(label), _webp(image, quality))
        for part, (images, labels) in parts.items()
        for image, label in zip(images, labels, strict=True)
    ]
    chunks: list[list] = [[]]
    size = 0
    for item in items:
        if chunks[-1] and size + len(item[2]) > chunk_mb * 1e6:
            chunks.append([])
            size = 0
        chunks[-1].append(item)
        size += len(item[2])
    names = []
    for index, chunk in enumerate(chunks):
        arrays = {}
        for part in parts:
            mine = [(label, blob) for p, label, blob in chunk if p == part]
            arrays[f"{part}_bytes"] = np.concatenate([blob for _, blob in mine]) if mine else np.zeros(0, np.uint8)
            arrays[f"{part}_offsets"] = np.cumsum([0, *(len(blob) for _, blob in mine)]).astype(np.int64)
            arrays[f"{part}_labels"] = np.array([label for label, _ in mine], np.int64)
        names.append(f"data{index}.npz")
        np.savez(out / names[-1], **arrays)
    return names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", help="folder to write (created)")
    parser.add_argument("--config", default=None, help="config.yaml whose train section gives the split (default: the project's)")
    parser.add_argument("--init-model", required=True, help=".keras model of this project to start from")
    parser.add_argument("--extra-data", action="append", default=[], help="more class-folder trees (repeatable)")
    parser.add_argument("--video-dir", default=None, help="training clips (folder with labels.json); never ../shared/data/clips")
    parser.add_argument("--video-frame-step", type=int, default=3)
    parser.add_argument("--background-class", default=None)
    parser.add_argument("--quality", type=int, default=55, help="WebP quality of the packed images (default 55)")
    parser.add_argument("--val-every", type=int, default=2, help="pack every n-th validation photo (default 2)")
    parser.add_argument("--chunk-mb", type=float, default=25.0, help="largest data file, MB (default 25)")
    args = parser.parse_args(argv)
    try:
        if not Path(args.init_model).is_file():
            raise VidclfError(f"init model not found: {args.init_model}")
        cfg = load_config(args.config).train
        cfg = dataclasses.replace(
            cfg,
            extra_data_dirs=args.extra_data,
            video_dir=args.video_dir,
            video_frame_step=args.video_frame_step,
            background_class=args.background_class,
            init_model=args.init_model,
        )
        split, _main_test = plan_split(cfg)
        class_names = split.class_names
        model = start_model(args.init_model, class_names)
        size = int(model.input_shape[1])
        train_images, train_labels = load_raw(split.train)
        frames = 0
        if cfg.video_dir:
            more, more_labels = video_frames(cfg.video_dir, class_names, cfg.video_frame_step, cfg.background_class)
            train_images, train_labels, frames = train_images + more, np.concatenate([train_labels, more_labels]), len(more)
        val_images, val_labels = load_raw(split.val[:: args.val_every])
        variant, state = lite_variant(model), model_state_dict(model)
    except VidclfError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    # float16: half the bytes to carry; a start point for training needs no more precision
    np.savez(out / "start.npz", **{k: v.astype(np.float16) for k, v in state.items()})
    check = np.stack([prepare_image(image, size, cfg.input_fit) for image in val_images[:CHECK_IMAGES]])
    np.savez_compressed(out / "check.npz", images=check, probabilities=model.predict(check.astype(np.float32), verbose=0))
    parts = {"train": (train_images, train_labels), "val": (val_images, val_labels)}
    names = _write_chunks(out, parts, args.quality, args.chunk_mb)
    meta = {
        "classes": class_names,
        "class_weights": [class_weights(train_labels, len(class_names))[i] for i in range(len(class_names))],
        "input_size": size,
        "input_fit": cfg.input_fit,
        "dropout": cfg.dropout,
        "label_smoothing": cfg.label_smoothing,
        "variant": variant,
        "train_images": len(train_labels),
        "video_frames": frames,
        "val_images": len(val_labels),
        "data_files": names,
        "init_model": args.init_model,
        "split_seed": cfg.seed,
    }
    (out / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
    total = sum(p.stat().st_size for p in out.iterdir()) / 1e6
    print(f"packed {len(train_labels)} train ({frames} clip frames) + {len(val_labels)} val images")
    print(f"into {out}: {total:.1f} MB ({', '.join(names)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
