"""``vidclf export``: convert a trained ``.keras`` model for deployment.

    vidclf export runs/x/x.keras                        # x.tflite next to it (float32)
    vidclf export runs/x/x.keras --format int8          # x.int8.tflite (int8 weights)
    vidclf export runs/x/x.keras --format onnx          # x.onnx, checked with onnxruntime

Every exported file is checked against the .keras model on the same inputs before the
command succeeds (largest probability difference printed). Needs the train extra; ONNX also
needs tf2onnx and onnxruntime (pip install tf2onnx onnxruntime).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from vidclf.cli.common import add_common_flags, log


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_common_flags(p)
    p.add_argument("model", help="the .keras model to export")
    p.add_argument("--format", choices=("tflite", "int8", "onnx"), default="tflite", help="what to write (default: tflite)")
    p.add_argument("--out", help="output file (default: next to the model, .tflite / .int8.tflite / .onnx)")
    p.add_argument(
        "--tolerance", type=float, default=1e-3, help="largest probability difference accepted (default: 0.001; int8: x50)"
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing output file")


def run(p: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from vidclf.errors import VidclfError, require_tensorflow
    from vidclf.sinks.outputs import check_outputs
    from vidclf.sinks.terminal import write_text

    source = Path(args.model)
    if source.suffix != ".keras":
        raise VidclfError(f"export reads a .keras model, got {source.name}")
    if not source.is_file():
        raise VidclfError(f"model not found: {source}")
    suffix = {"tflite": ".tflite", "int8": ".int8.tflite", "onnx": ".onnx"}[args.format]
    out = Path(args.out) if args.out else source.with_suffix(suffix)
    check_outputs({"export": out}, {"model": source}, args.overwrite)
    require_tensorflow("export")
    from vidclf.training.export import check_export, export_onnx, export_tflite, load_keras

    model = load_keras(source)
    log.info("exporting %s to %s", source, out)
    if args.format == "onnx":
        export_onnx(model, out)
    else:
        export_tflite(model, out, quantize=args.format == "int8")
    tolerance = args.tolerance * (50 if args.format == "int8" else 1)
    difference = check_export(model, out)
    if difference > tolerance:
        raise VidclfError(f"{out}: outputs differ from the .keras model by {difference:.2g} (> {tolerance:g})")
    if not args.quiet:
        write_text(
            f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB); largest difference from the .keras model {difference:.2g}\n"
        )
    return 0
