"""``vidclf info``: what is installed and what a model is.

vidclf info                                         # version, bundled files, runtimes
vidclf info --model runs/x/x.tflite                 # + that model's classes and input
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import platform
import sys

from vidclf.cli.common import add_common_flags, add_config_flags, config_overrides


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_common_flags(p)
    add_config_flags(p, keys=("model.path", "model.labels"))


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def run(p: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from vidclf import __version__
    from vidclf.assets import DEFAULT_CONFIG, installed
    from vidclf.config import load_config, override
    from vidclf.runtime.classifier import load_classifier
    from vidclf.sinks.terminal import write_text

    cfg = override(load_config(args.config), config_overrides(p, args))
    tf_version = _version("tensorflow-cpu")
    if tf_version == "not installed":
        tf_version = _version("tensorflow")
    if importlib.util.find_spec("tensorflow") is None:
        tf_version = "absent (runs .tflite models only)"
    lines = [
        f"vidclf {__version__} ({'installed package' if installed() else 'checkout'}); Python {sys.version.split()[0]} "
        f"on {platform.system()} {platform.machine()}",
        f"config: {args.config or DEFAULT_CONFIG}",
        f"runtimes: LiteRT {_version('ai-edge-litert')}; TensorFlow {tf_version}; onnxruntime {_version('onnxruntime')}; "
        f"OpenCV {_version('opencv-python')}",
    ]
    clf = load_classifier(cfg.model.path, cfg.model.labels, cfg.model.threads)
    lines += [
        f"model: {cfg.model.path}",
        f"  input {clf.input_size}x{clf.input_size} RGB ({cfg.model.input_fit} fit); {len(clf.labels)} classes:",
        f"  {', '.join(clf.labels)}",
        f"  temperature {getattr(clf, 'temperature', 1.0):.3f}",
    ]
    own = getattr(clf, "class_thresholds", {})
    if own:  # the model's own "uncertain" thresholds (its calibration file); the config's override them
        lines.append("  own class thresholds: " + ", ".join(f"{name} {value:g}" for name, value in own.items()))
    write_text("\n".join(lines) + "\n")
    return 0
