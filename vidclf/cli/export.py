"""``vidclf export``: convert a trained ``.keras`` model for deployment.

    vidclf export runs/x/x.keras                        # x.tflite next to it (float32)
    vidclf export runs/x/x.keras --format int8          # x.int8.tflite (int8 weights)
    vidclf export runs/x/x.keras --format onnx          # x.onnx, checked with onnxruntime
    vidclf export runs/x/x.keras --format onnx-int8     # x.int8.onnx: int8 weights and activations,
                                                        # calibrated on train.data_dir's photos

Every exported file is checked against the .keras model before the command succeeds: the
largest probability difference on the same inputs, and for onnx-int8 the share of held-out
photos (the validation part of train.data_dir's split) whose top class stays the same. Needs
the train extra; ONNX also needs tf2onnx and onnxruntime (pip install tf2onnx onnxruntime).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from vidclf.cli.common import add_common_flags, config_flag, config_overrides, log

SUFFIXES = {"tflite": ".tflite", "int8": ".int8.tflite", "onnx": ".onnx", "onnx-int8": ".int8.onnx"}


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_common_flags(p)
    p.add_argument("model", help="the .keras model to export")
    p.add_argument("--format", choices=tuple(SUFFIXES), default="tflite", help="what to write (default: tflite)")
    p.add_argument("--out", help="output file (default: next to the model, " + " / ".join(SUFFIXES.values()) + ")")
    p.add_argument(
        "--tolerance", type=float, default=1e-3, help="largest probability difference accepted (default: 0.001; int8: x50)"
    )
    config_flag(p, "--data-dir", key="train.data_dir", help="onnx-int8: photos in class folders to calibrate and check on")
    p.add_argument(
        "--calibration-images", type=int, default=200, help="onnx-int8: training-split photos to calibrate on (default: 200)"
    )
    p.add_argument(
        "--min-agreement",
        type=float,
        default=0.9,
        help="onnx-int8: least share of held-out photos with the .keras model's top class (default: 0.9)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing output file")


def _calibration_photos(cfg, count: int, size: int) -> tuple:
    """``(calibration, held-out)`` uint8 images: the training part of the split ``vidclf train``
    makes with this config calibrates, its validation part checks; test photos are never read."""
    import dataclasses
    import random

    from vidclf.training.dataset import load_images
    from vidclf.training.trainer import plan_split

    # test images are taken first in every class, so a validation part made here for a config
    # without one (val_fraction 0) leaves the test part as training had it
    split, _ = plan_split(dataclasses.replace(cfg.train, val_fraction=max(cfg.train.val_fraction, 0.05)))
    rng = random.Random(cfg.train.seed)
    calibration = rng.sample(split.train, min(count, len(split.train)))
    held_out = rng.sample(split.val, min(200, len(split.val)))
    return load_images(calibration, size, fit=cfg.train.input_fit)[0], load_images(held_out, size, fit=cfg.train.input_fit)[0]


def run(p: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from vidclf.config import load_config, override
    from vidclf.errors import VidclfError, require_tensorflow
    from vidclf.sinks.outputs import check_outputs
    from vidclf.sinks.terminal import write_text

    source = Path(args.model)
    if source.suffix != ".keras":
        raise VidclfError(f"export reads a .keras model, got {source.name}")
    if not source.is_file():
        raise VidclfError(f"model not found: {source}")
    if args.calibration_images < 1:
        raise VidclfError(f"--calibration-images must be at least 1, got {args.calibration_images}")
    if not 0.0 <= args.min_agreement <= 1.0:
        raise VidclfError(f"--min-agreement must be a share between 0 and 1, got {args.min_agreement:g}")
    out = Path(args.out) if args.out else source.with_name(source.name.removesuffix(".keras") + SUFFIXES[args.format])
    check_outputs({"export": out}, {"model": source}, args.overwrite)
    cfg = override(load_config(args.config), config_overrides(p, args))
    require_tensorflow("export")
    from vidclf.runtime.keras_layers import load_keras_model
    from vidclf.training.export import check_export, export_onnx, export_onnx_int8, export_tflite, top1_agreement

    model = load_keras_model(source)
    log.info("exporting %s to %s", source, out)
    if args.format == "onnx-int8":
        calibration, held_out = _calibration_photos(cfg, args.calibration_images, int(model.input_shape[1]))
        export_onnx_int8(model, out, calibration)
        agreement = top1_agreement(model, out, held_out)
        if agreement < args.min_agreement:
            raise VidclfError(
                f"{out}: the top class differs from the .keras model's on {1 - agreement:.1%} of {len(held_out)} held-out photos "
                f"(agreement {agreement:.3f} < --min-agreement {args.min_agreement:g})"
            )
        check = f"same top class as the .keras model on {agreement:.3f} of {len(held_out)} held-out photos"
    else:
        if args.format == "onnx":
            export_onnx(model, out)
        else:
            export_tflite(model, out, quantize=args.format == "int8")
        tolerance = args.tolerance * (50 if args.format == "int8" else 1)
        difference = check_export(model, out)
        if difference > tolerance:
            raise VidclfError(f"{out}: outputs differ from the .keras model by {difference:.2g} (> {tolerance:g})")
        check = f"largest difference from the .keras model {difference:.2g}"
    if not args.quiet:
        write_text(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB); {check}\n")
    return 0
