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
    result = train(cfg.train, name=args.name or Path(cfg.train.output_dir).name)
    if cfg.train.refit_head:
        _cross_validate_refit(cfg, result.model_path)
    return 0


def _cross_validate_refit(cfg, model_path) -> None:
    """Cross-validate the refit over the clips' groups (``cross_validation.md``) and store the
    per-class thresholds: the start model's, or (``fit_class_thresholds``) fitted on the held-out
    probabilities of the same refit done without each fold (never on a clip the head has seen)."""
    import dataclasses
    import json

    from vidclf.evaluation.cross_validation import cross_validate_model, write_report
    from vidclf.runtime.calibration import calibration_path
    from vidclf.sinks.terminal import write_text
    from vidclf.training.calibration import write_class_thresholds

    t = cfg.train
    cv_cfg = dataclasses.replace(
        cfg,
        model=dataclasses.replace(cfg.model, input_fit=t.input_fit),
        smoothing=dataclasses.replace(cfg.smoothing, background_labels=[t.background_class] if t.background_class else []),
    )
    report = cross_validate_model(cv_cfg, t.init_model, t.video_dir)
    path = write_report(report, t.output_dir)
    if t.fit_class_thresholds:
        fitted_on = f"leave-group-out over {t.video_dir} ({len(report['folds'])} folds; the heads that never saw each clip)"
    else:  # the start model's own, which the cross-validation above scored
        start = calibration_path(t.init_model)
        fitted_on = json.loads(start.read_text()).get("class_thresholds_fitted_on", "") if start.is_file() else ""
    write_class_thresholds(model_path, report["thresholds"], fitted_on)
    write_text(path.read_text())
