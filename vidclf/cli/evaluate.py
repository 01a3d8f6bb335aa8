"""``vidclf evaluate``: score a model and its smoothing settings on labelled video clips.

    vidclf evaluate                                     # bundled model, the config's clips
    vidclf evaluate --hysteresis 1.0 --size 32          # try other settings
    vidclf evaluate --model runs/x/x.tflite --out runs/eval-x --only basketball_gym_shooting.mp4
    vidclf evaluate --cross-validate ../shared/data/video_train --folds 5   # leave-group-out (needs TensorFlow)

Each clip runs through the streaming pipeline; writes <out>/evaluation.json, <clip>.jsonl and
<clip>.timeline.png, and prints one line per clip and a summary. ``--cross-validate`` writes
<out>/cross_validation.json and .md and prints the per-class table instead.
"""

from __future__ import annotations

import argparse

from vidclf.cli.common import add_common_flags, add_config_flags, add_set_flag, config_overrides


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_common_flags(p)
    # the photo split and head refit of --cross-validate are the training run's settings
    cv_keys = ("data_dir", "extra_data_dirs", "classes", "max_images_per_class", "clip_weight", "folds", "feature_cache", "seed")
    add_config_flags(p, groups=("model", "labels", "performance", "evaluation"), keys=tuple(f"train.{k}" for k in cv_keys))
    add_set_flag(p)
    p.add_argument("--ground-truth", help="labels.json (default: <clips>/labels.json)")
    p.add_argument("--only", help="comma-separated clip names to evaluate (default: all)")


def run(p: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from vidclf.config import load_config, override
    from vidclf.evaluation.clips import evaluate_clips, summary_line
    from vidclf.sinks.terminal import write_text

    cfg = override(load_config(args.config), config_overrides(p, args))
    if cfg.evaluate.cross_validate:
        return _cross_validate(cfg, args.quiet)
    report = evaluate_clips(
        cfg,
        cfg.evaluate.clips,
        args.ground_truth,
        cfg.evaluate.output_dir,
        [c.strip() for c in args.only.split(",")] if args.only else None,
    )
    lines = []
    for s in report["clips"]:
        switches = " ".join(f"->{w['to']} {w['latency_s']}s" for w in s["switches"])
        lines.append(
            f"{s['clip']:<40} truth {str(s['truth']):<26} acc {s['accuracy']:.3f} raw {s['raw_accuracy'] or 0:.3f} "
            f"dominant {s['dominant_label']} ({s['dominant_share']:.2f}) changes/min {s['changes_per_min']:.1f} "
            f"uncertain {s['uncertain_share']:.2f} {switches}"
        )
    lines.append("summary: " + summary_line(report["summary"]))
    if not args.quiet:
        write_text("\n".join(lines) + "\n")
    return 0


def _cross_validate(cfg, quiet: bool) -> int:
    from vidclf.errors import require_tensorflow

    require_tensorflow("cross-validation")
    from vidclf.evaluation.cross_validation import cross_validate_model, write_report
    from vidclf.sinks.terminal import write_text

    report = cross_validate_model(cfg, cfg.model.path, cfg.evaluate.cross_validate)
    path = write_report(report, cfg.evaluate.output_dir)
    if not quiet:
        write_text(path.read_text())
    return 0
