"""``vidclf train``: fine-tune an ImageNet backbone on a folder of class folders.

    vidclf train                                        # all classes, settings from the config
    vidclf train --classes football,tennis,weight_lifting --output-dir runs/sports3
    vidclf train --data-dir my_images --epochs 20 --fine-tune-epochs 2

Writes the .keras model, labels JSON, TFLite files, plots, report and model card to
--output-dir. Needs the train extra: pip install 'vidclf[train]'.
"""

from __future__ import annotations

import argparse

from vidclf.cli.common import add_common_flags, config_flag, config_overrides
from vidclf.config import BACKBONE_NAMES


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_common_flags(p)
    t = "train."
    config_flag(p, "--data-dir", key=t + "data_dir", help="folder of class folders")
    config_flag(p, "--classes", key=t + "classes", help="comma-separated subset of class folder names (none: all)")
    config_flag(p, "--backbone", key=t + "backbone", help=" | ".join(BACKBONE_NAMES))
    config_flag(p, "--weights", key=t + "backbone_weights", dest="backbone_weights", help="ImageNet backbone weights file")
    config_flag(p, "--output-dir", key=t + "output_dir", help="where to write the model and reports")
    p.add_argument("--name", help="file name stem of the model (default: the output folder's name)")
    config_flag(p, "--epochs", key=t + "epochs", type=int, help="head epochs on cached features")
    config_flag(p, "--fine-tune-epochs", key=t + "fine_tune_epochs", type=int, help="end-to-end epochs after the head (0 = none)")
    config_flag(p, "--fine-tune-layers", key=t + "fine_tune_layers", type=int, help="backbone layers unfrozen for fine-tuning")
    config_flag(p, "--batch-size", key=t + "batch_size", type=int, help="images per training step")
    config_flag(p, "--learning-rate", key=t + "learning_rate", type=float, help="head learning rate")
    config_flag(p, "--max-images-per-class", key=t + "max_images_per_class", type=int, help="cap per class (0 = all)")
    config_flag(p, "--seed", key=t + "seed", type=int, help="seed of the split and the training")
    config_flag(
        p, "--no-quantize", key=t + "quantize", dest="quantize", action="store_false", help="skip the quantised TFLite file"
    )
    config_flag(
        p, "--extra-data", key=t + "extra_data_dirs", dest="extra_data_dirs", help="comma-separated extra class-folder trees"
    )
    config_flag(p, "--video-dir", key=t + "video_dir", help="training clips with a labels.json (their frames are trained on)")
    config_flag(p, "--video-frame-step", key=t + "video_frame_step", type=int, help="use every n-th frame of the training clips")
    config_flag(p, "--augment", key=t + "augment", choices=("flip", "video"), help="fine-tuning augmentation")
    config_flag(p, "--input-fit", key=t + "input_fit", choices=("squash", "crop"), help="how an image meets the square input")
    config_flag(p, "--init-model", key=t + "init_model", help="fine-tune this .keras model further instead of a new head")
    config_flag(
        p, "--average-models", key=t + "average_models", dest="average_models",
        help="comma-separated .keras models of one lineage: start from the mean of their weights",
    )
    config_flag(p, "--background-class", key=t + "background_class", help="add a no-sport class of this name")
    config_flag(
        p, "--input-size", key=t + "input_size", type=int,
        help="input size training runs at (0 = the backbone's or start model's own)",
    )
    config_flag(
        p, "--export-size", key=t + "export_size", type=int,
        help="input size of the written model, tested and calibrated at it (0 = --input-size)",
    )
    config_flag(
        p, "--distill-from", key=t + "distill_from",
        help="teacher model(s), comma-separated: fine-tune towards (the mean of) their probabilities too",
    )
    config_flag(
        p, "--distill-weight", key=t + "distill_weight", type=float, help="share of the teacher in each target (0-1)"
    )


def run(p: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from pathlib import Path

    from vidclf.config import load_config, override
    from vidclf.errors import require_tensorflow

    require_tensorflow("training")
    from vidclf.training.trainer import train

    cfg = override(load_config(args.config), config_overrides(p, args))
    train(cfg.train, name=args.name or Path(cfg.train.output_dir).name)
    return 0
