#!/usr/bin/env python3
"""Train a sports-scene classifier on a folder of class folders.

    python train.py                                   # all classes, settings from config.yaml
    python train.py --classes football,tennis,weight_lifting --output-dir runs/sports3
    python train.py --data-dir my_images --epochs 20 --fine-tune-epochs 2

Writes the .keras model, labels JSON, TFLite files, plot, report and model card to --output-dir.
"""

from __future__ import annotations

import argparse

from vidclf.cli.common import quiet_tensorflow, run_main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", help="config file (default: config.yaml next to this script)")
    p.add_argument("--data-dir", help="folder of class folders")
    p.add_argument("--classes", help="comma-separated subset of class folder names")
    p.add_argument("--backbone", help="efficientnet_lite0 | mobilenet_v2 | efficientnet_b0 | resnet50")
    p.add_argument("--weights", dest="backbone_weights", help="ImageNet backbone weights file")
    p.add_argument("--output-dir", help="where to write the model and reports")
    p.add_argument("--name", default=None, help="file name stem of the model (default: output folder name)")
    p.add_argument("--epochs", type=int, help="head epochs on cached features")
    p.add_argument("--fine-tune-epochs", type=int, help="end-to-end epochs after the head (0 = none)")
    p.add_argument("--fine-tune-layers", type=int, help="backbone layers unfrozen for fine-tuning")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--learning-rate", type=float)
    p.add_argument("--max-images-per-class", type=int, help="cap per class (0 = all)")
    p.add_argument("--seed", type=int)
    p.add_argument("--no-quantize", dest="quantize", action="store_false", default=None, help="skip the quantised TFLite file")
    p.add_argument("--extra-data", dest="extra_data_dirs", help="comma-separated extra class-folder trees (e.g. sports_extra)")
    p.add_argument("--video-dir", help="training clips with a labels.json (their frames are trained on)")
    p.add_argument("--video-frame-step", type=int, help="use every n-th frame of the training clips")
    p.add_argument("--augment", choices=("flip", "video"), help="fine-tuning augmentation: flip, or video-like frames")
    p.add_argument("--input-fit", choices=("squash", "crop"), help="how an image meets the square input")
    p.add_argument("--init-model", help="fine-tune this .keras model further instead of a new head")
    p.add_argument("--background-class", help="add a no-sport class of this name (from _none folders and null clips)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    quiet_tensorflow()
    from pathlib import Path

    from vidclf.config import load_config, override
    from vidclf.training.trainer import train

    cfg = load_config(args.config)
    keys = [
        "data_dir",
        "classes",
        "backbone",
        "backbone_weights",
        "output_dir",
        "epochs",
        "fine_tune_epochs",
        "fine_tune_layers",
        "batch_size",
        "learning_rate",
        "max_images_per_class",
        "seed",
        "quantize",
        "extra_data_dirs",
        "video_dir",
        "video_frame_step",
        "augment",
        "input_fit",
        "init_model",
        "background_class",
    ]
    cfg = override(cfg, {f"train.{k}": getattr(args, k) for k in keys})
    train(cfg.train, name=args.name or Path(cfg.train.output_dir).name)
    return 0


if __name__ == "__main__":
    raise SystemExit(run_main(main))
