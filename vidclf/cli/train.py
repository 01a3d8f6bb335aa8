"""``vidclf train``: fine-tune an ImageNet backbone on a folder of class folders.

    vidclf train                                        # all classes, settings from the config
    vidclf train --classes football,tennis,weight_lifting --output-dir runs/sports3
    vidclf train --data-dir my_images --epochs 20 --fine-tune-epochs 2

Writes the .keras model, labels JSON, TFLite files, plots, report and model card to
--output-dir. Needs the train extra: pip install 'vidclf[train]'.
"""

from __future__ import annotations

import argparse

from vidclf.cli.common import add_common_flags, add_config_flags, add_set_flag, config_overrides


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_common_flags(p)
    p.add_argument("--name", help="file name stem of the model (default: the output folder's name)")
    add_config_flags(p, groups=("training",))
    add_set_flag(p)


def run(p: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from pathlib import Path

    from vidclf.config import load_config, override
    from vidclf.errors import require_tensorflow

    require_tensorflow("training")
    from vidclf.training.trainer import train

    cfg = override(load_config(args.config), config_overrides(p, args))
    train(cfg.train, name=args.name or Path(cfg.train.output_dir).name)
    return 0
