"""Leave-group-out cross-validation over labelled training clips (``video_train``).

Eight sport clips are too few to choose a model on. The training clips are many more, but a
model cannot be scored on what it trained on, and clips of one venue or source (a leak
``group``) are near-copies of each other. So the groups are dealt into folds (stratified by
class, so each fold holds some basketball), and for each fold the model's head is refitted
(:mod:`vidclf.training.head_refit`) on the photos and on every clip **outside** the fold, then
scores the fold's clips, which it has never seen, through the streaming smoother and decoder
(:mod:`vidclf.evaluation.replay`). Every clip is scored once, by a head that never saw its group.

Per-class ``uncertain`` thresholds are chosen the same way (nested): for each fold they are
fitted on the other folds' held-out probabilities and applied to this fold, so the reported
figures never use a threshold chosen on the clips they score.

What is not cross-validated: the backbone (a frozen feature extractor here). Clips whose frames
the backbone was fine-tuned on are scored with features that saw them; report clips the model
has never seen separately (the model card does).

Usage::

    report = cross_validate(model, clips, photos, labels, cfg.smoothing, background="no_sport")
    report["per_class"]["basketball"]   # {"clips": 12, "accuracy": 0.61, "fold_min": ..., "fold_max": ...}
"""

from __future__ import annotations

import dataclasses
import json
import logging
import random
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vidclf.config import Config, SmoothingConfig
from vidclf.errors import VidclfError
from vidclf.evaluation.clips import ClipTruth, score_clip, summarise, summary_line
from vidclf.evaluation.replay import decoded_frames, reference_decoded, replay_clip, scheduled
from vidclf.training.calibration import fit_temperature
from vidclf.training.features import ClipFeatures, clip_features, clip_pictures, split_features, split_model
from vidclf.training.head_refit import RefitSettings, fit_head, head_probabilities, training_rows

log = logging.getLogger("vidclf")

THRESHOLD_GRID = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
NULL_SLACK = 0.01  # share of no-sport frames shown uncertain that per-class thresholds may give up
NULL = "null"  # the per-class key of clips with no sport (their figure: share shown uncertain)


@dataclass
class Head:
    """A softmax head over backbone features, with its calibration."""

    kernel: np.ndarray
    bias: np.ndarray
    temperature: float
    thresholds: dict[str, float] = field(default_factory=dict)

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        return head_probabilities(features, self.kernel, self.bias, self.temperature)


def group_folds(clips: dict[str, ClipFeatures], k: int, seed: int = 0) -> list[list[str]]:
    """Clip names in ``k`` folds; a group is never split, and each class's groups are dealt
    round-robin (after a seeded shuffle) so every fold holds a share of each class."""
    groups: dict[str, list[str]] = defaultdict(list)
    for name, clip in sorted(clips.items()):
        groups[clip.group].append(name)
    by_class: dict[str, list[str]] = defaultdict(list)
    for group, names in sorted(groups.items()):
        by_class[clips[names[0]].label or NULL].append(group)
    rng, folds, turn = random.Random(seed), [[] for _ in range(k)], 0
    for _label, class_groups in sorted(by_class.items()):
        rng.shuffle(class_groups)
        for group in class_groups:
            folds[turn % k] += groups[group]
            turn += 1
    return [sorted(fold) for fold in folds if fold]


def refit_head(
    start: Head,
    photos: dict[str, tuple[np.ndarray, np.ndarray]],
    clips: list[ClipFeatures],
    labels: list[str],
    background: str | None,
    settings: RefitSettings,
) -> Head:
    """``start``'s head refitted on the photos' training part and ``clips``; its temperature
    fitted on the photos' validation part (as ``train.py`` calibrates)."""
    x, y, w = training_rows(photos["train"], clips, labels, background, settings.clip_weight)
    kernel, bias = fit_head(x, y, (start.kernel, start.bias), w, settings)
    x_val, y_val = photos["val"]
    temperature = fit_temperature(head_probabilities(x_val, kernel, bias), y_val) if len(y_val) else start.temperature
    return Head(kernel, bias, temperature)


def score_clips(
    clips: dict[str, ClipFeatures],
    probs: dict[str, np.ndarray],
    labels: list[str],
    smoothing: SmoothingConfig,
    thresholds: dict[str, float],
    names: list[str] | None = None,
    truths: dict[str, ClipTruth] | None = None,
) -> list[dict]:
    """:func:`score_clip` of each clip (``names``: a subset) with ``probs`` replayed; ``truths``
    gives clips whose activity changes their segments."""
    scores = []
    for name in names if names is not None else sorted(probs):
        clip = clips[name]
        rows = replay_clip(probs[name], clip.fps, clip.cut_distances, labels, smoothing, thresholds, classified=clip.classified)
        truth = (truths or {}).get(name) or ClipTruth(name, clip.label)
        scores.append(score_clip(truth, rows) | {"group": clip.group})
    return scores


def _figures(scores: list[dict]) -> tuple[float, float]:
    """(mean sport frame accuracy, mean share of no-sport frames shown uncertain)."""
    sport = [s["accuracy"] for s in scores if s["kind"] == "sport"]
    none = [s["uncertain_share"] for s in scores if s["kind"] == "none"]
    return float(np.mean(sport) if sport else 0.0), float(np.mean(none) if none else 1.0)


def _better(trial: tuple[float, float], best: tuple[float, float], null_floor: float) -> bool:
    """A threshold is taken when it shows more sport frames right (or more no-sport frames
    uncertain at the same sport accuracy) and keeps the no-sport share within
    :data:`NULL_SLACK` of where it started: measured by cross-validation, trading negatives
    for sport frames one for one gave back 0.14 of the no-sport share for 0.02 of sport."""
    if trial[1] < null_floor:
        return False
    return trial[0] > best[0] + 1e-3 or (trial[0] >= best[0] - 1e-9 and trial[1] > best[1] + 1e-3)


def fit_class_thresholds(
    clips: dict[str, ClipFeatures],
    probs: dict[str, np.ndarray],
    labels: list[str],
    smoothing: SmoothingConfig,
    background: str | None,
    grid: tuple[float, ...] = THRESHOLD_GRID,
    rounds: int = 2,
) -> dict[str, float]:
    """Per-class thresholds (coordinate search, one class at a time, highest value first) that
    show more sport frames right without giving up more than :data:`NULL_SLACK` of the
    no-sport frames shown ``uncertain``; a class stays at the global threshold otherwise."""
    thresholds: dict[str, float] = {}
    scores = {s["clip"]: s for s in score_clips(clips, probs, labels, smoothing, thresholds)}
    null_floor = _figures(list(scores.values()))[1] - NULL_SLACK
    candidates = [c for c in labels if c != background and c not in smoothing.background_labels]
    for _ in range(rounds):
        changed = False
        for c in candidates:
            index = labels.index(c)
            # a threshold can only matter where the class's probability ever reaches it
            touched = [n for n, p in probs.items() if p[:, index].max() >= min(grid)]
            if not touched:
                continue
            current = thresholds.get(c, smoothing.uncertain_below)
            best, best_figures, best_scores = current, _figures(list(scores.values())), None
            for value in sorted(grid, reverse=True):  # ties keep the higher, safer threshold
                if value == current:
                    continue
                trial = score_clips(clips, probs, labels, smoothing, {**thresholds, c: value}, touched)
                merged = {**scores, **{s["clip"]: s for s in trial}}
                figures = _figures(list(merged.values()))
                if _better(figures, best_figures, null_floor):
                    best, best_figures, best_scores = value, figures, merged
            if best_scores is not None:
                thresholds[c], scores, changed = best, best_scores, True
        if not changed:
            break
    return {c: v for c, v in sorted(thresholds.items()) if v != smoothing.uncertain_below}


def per_class(scores: list[dict], folds: list[list[str]]) -> dict[str, dict]:
    """Per truth class (``null``: no sport): clips, mean figure, and its range across folds."""
    fold_of = {name: i for i, fold in enumerate(folds) for name in fold}
    table: dict[str, dict] = {}
    by_class: dict[str, list[dict]] = defaultdict(list)
    for s in scores:
        by_class[s["truth"] if s["kind"] == "sport" else NULL].append(s)
    for key, items in sorted(by_class.items()):
        figure = "uncertain_share" if key == NULL else "accuracy"
        per_fold: dict[int, list[float]] = defaultdict(list)
        for s in items:
            per_fold[fold_of[s["clip"]]].append(s[figure])
        fold_means = [float(np.mean(v)) for v in per_fold.values()]
        table[key] = {
            "clips": len(items),
            "right": sum(s["dominant_label"] == s["truth"] for s in items) if key != NULL else None,
            "accuracy": round(float(np.mean([s[figure] for s in items])), 4),
            "raw_accuracy": round(float(np.mean([s["raw_accuracy"] for s in items])), 4) if key != NULL else None,
            "fold_min": round(min(fold_means), 4),
            "fold_max": round(max(fold_means), 4),
        }
    return table


def cross_validate(
    start: Head,
    clips: dict[str, ClipFeatures],
    photos: dict[str, tuple[np.ndarray, np.ndarray]],
    labels: list[str],
    smoothing: SmoothingConfig,
    background: str | None = None,
    refit: RefitSettings | None = None,
    k: int = 5,
    seed: int = 0,
    fit_thresholds: bool = True,
) -> dict:
    """Score every clip with a head that never saw its group (``refit`` None: ``start`` as is,
    which is then a plain held-out evaluation of the start model), with per-class thresholds
    fitted on the other folds. Returns the summary, per-class table, folds and thresholds."""
    folds = group_folds(clips, k, seed)
    probs: dict[str, np.ndarray] = {}
    for fold in folds:
        outside = [clips[n] for n in clips if n not in fold]
        head = refit_head(start, photos, outside, labels, background, refit) if refit else start
        probs |= {n: head.probabilities(clips[n].features) for n in fold}
    scores, fold_thresholds = [], []
    for fold in folds:
        others = {n: p for n, p in probs.items() if n not in fold}
        thresholds = fit_class_thresholds(clips, others, labels, smoothing, background) if fit_thresholds else start.thresholds
        fold_thresholds.append(thresholds)
        scores += score_clips(clips, probs, labels, smoothing, thresholds, fold)
    final = fit_class_thresholds(clips, probs, labels, smoothing, background) if fit_thresholds else start.thresholds
    return {
        "folds": folds,
        "summary": summarise(scores),
        "per_class": per_class(scores, folds),
        "scores": scores,
        "fold_thresholds": fold_thresholds,
        "thresholds": final,
        "thresholds_from": "fitted on all held-out probabilities; each fold scored with those of the other folds"
        if fit_thresholds
        else "the model's own, on every fold",
        "probabilities": probs,
    }


def markdown_table(report: dict) -> str:
    """The per-class table of a :func:`cross_validate` report (basketball on its own line)."""
    lines = [
        "| class | clips | dominant right | smoothed frame acc. (null: `uncertain`) | raw top-1 | range over folds |",
        "|---|---|---|---|---|---|",
    ]
    for key, row in report["per_class"].items():
        right = "-" if row["right"] is None else f"{row['right']}/{row['clips']}"
        raw = "-" if row["raw_accuracy"] is None else f"{row['raw_accuracy']:.3f}"
        lines.append(
            f"| {key} | {row['clips']} | {right} | {row['accuracy']:.3f} | {raw} | {row['fold_min']:.3f}-{row['fold_max']:.3f} |"
        )
    return "\n".join(lines) + "\n"


def keras_path(model_path: str | Path) -> Path:
    """The ``.keras`` file of a model (a ``.tflite`` / ``.onnx`` path names its sibling): the
    backbone's features come from the Keras graph."""
    path = Path(model_path)
    candidates = [path] if path.suffix == ".keras" else [path.with_name(path.name.split(".")[0] + ".keras")]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise VidclfError(f"cross-validation needs the model's .keras file (its backbone's features); not found: {candidates[0]}")


def clips_trained_on(model_path: str | Path) -> str | None:
    """The clip folder (``train.video_dir``) whose frames the model's own training used, from
    its metrics file (``<name>.metrics.json`` next to it, or a run folder's ``metrics.json``);
    None when it used none or no metrics file says."""
    path = Path(model_path)
    stem = path.name.split(".")[0]
    for candidate in (path.with_name(f"{stem}.metrics.json"), path.with_name("metrics.json")):
        try:
            metrics = json.loads(candidate.read_text())
        except (OSError, ValueError):
            continue
        if metrics.get("name", stem) != stem:
            continue  # a run folder's metrics of another model
        if metrics.get("images", {}).get("video_frames"):
            return metrics.get("config", {}).get("video_dir")
        return None
    return None


def cross_validate_model(cfg: Config, model_path: str | Path, clips_dir: str | Path, refit: bool = True) -> dict:
    """:func:`cross_validate` of the model at ``model_path`` over the clips in ``clips_dir``:
    features cached in ``cfg.train.feature_cache``, the photo split, input size and refit
    settings of ``cfg.train``, the decoding of ``cfg.smoothing``."""
    from vidclf.runtime.calibration import load_calibration
    from vidclf.runtime.classifier import default_labels_path, load_labels
    from vidclf.runtime.keras_layers import load_keras_model

    path = keras_path(model_path)
    labels = load_labels(default_labels_path(path))
    background = next((b for b in cfg.smoothing.background_labels if b in labels), None)
    model = load_keras_model(path, "model")
    if cfg.train.input_size and cfg.train.input_size != model.input_shape[1]:  # as train.py --input-size refits it
        from vidclf.training.export import with_input_size

        model = with_input_size(model, cfg.train.input_size)
    _backbone, kernel, bias = split_model(model)
    temperature, thresholds = load_calibration(path, labels)
    start = Head(kernel, bias, temperature, thresholds)
    train_cfg = dataclasses.replace(cfg.train, background_class=background, input_fit=cfg.model.input_fit)
    clips = clip_features(model, clips_dir, labels, background, cfg.model.input_fit, cfg.train.feature_cache)
    photos = split_features(model, train_cfg, cfg.train.feature_cache)
    pictures, decoded_share = None, None
    if cfg.source.decode_frames == "reference":  # what a run decoding only reference frames sees
        pictures, flags = clip_pictures(clips_dir, cfg.train.feature_cache), []
        for name, clip in clips.items():
            flags.append(decoded_frames(Path(clips_dir) / name, len(clip.features)))
            clips[name], pictures[name] = reference_decoded(clip, pictures[name], flags[-1])
        decoded_share = round(float(np.concatenate(flags).mean()), 4)
    if cfg.model.classify_fps or cfg.model.classify_on_change:  # score what a run under this schedule shows
        pictures = pictures or clip_pictures(clips_dir, cfg.train.feature_cache)
        clips = {name: scheduled(clip, pictures[name], cfg.model) for name, clip in clips.items()}
    settings = RefitSettings(cfg.train.clip_weight, cfg.train.refit_pull, keep=cfg.train.refit_keep) if refit else None
    report = cross_validate(
        start, clips, photos, labels, cfg.smoothing, background, settings, cfg.train.folds, cfg.train.seed,
        cfg.train.fit_class_thresholds,
    )
    if cfg.model.classify_fps or cfg.model.classify_on_change:
        masks = [clip.classified for clip in clips.values() if clip.classified is not None]
        report["schedule"] = {
            "classify_fps": cfg.model.classify_fps,
            "classify_on_change": cfg.model.classify_on_change,
            "change_threshold": cfg.model.change_threshold,
            "change_max_interval_s": cfg.model.change_max_interval_s,
            "frames_classified": round(float(np.concatenate(masks).mean()), 4),
        }
    if decoded_share is not None:
        report["frames_decoded"] = decoded_share
    seen = clips_trained_on(path)
    if seen and Path(seen).name == Path(clips_dir).resolve().name:
        # Every fold's refit starts from (and keeps a share of) a head that saw the fold's clips.
        report["not_held_out"] = (
            f"{path} was itself trained on the frames of {seen} (its metrics file): these figures are not held out; "
            "cross-validate from a model that never saw these clips (e.g. the one it was refitted from)"
        )
        log.warning("cross-validation: %s", report["not_held_out"])
    return report


def write_report(report: dict, out_dir: str | Path) -> Path:
    """``cross_validation.json`` (everything but the probabilities) and ``cross_validation.md``
    (summary, per-class table, thresholds) in ``out_dir``; returns the markdown file."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    kept = {k: v for k, v in report.items() if k != "probabilities"}
    (out / "cross_validation.json").write_text(json.dumps(kept, indent=1) + "\n")
    warning = f"**Not held out**: {report['not_held_out']}\n\n" if report.get("not_held_out") else ""
    if report.get("schedule"):
        sched = report["schedule"]
        gating = "no gating"
        if sched["classify_on_change"]:
            gating = f"change gating {sched['change_threshold']}, {sched['change_max_interval_s']} s"
        rate = sched["classify_fps"] or "every frame"
        warning += f"Schedule: classify_fps {rate}, {gating}: {sched['frames_classified']:.3f} of frames classified\n\n"
    if report.get("frames_decoded") is not None:
        warning += f"Reference frames only (source.decode_frames): {report['frames_decoded']:.3f} of frames decoded\n\n"
    text = warning + (
        f"Leave-group-out over {len(report['scores'])} clips in {len(report['folds'])} folds\n\n"
        f"summary: {summary_line(report['summary'])}\n\n{markdown_table(report)}\n"
        f"per-class thresholds: {report['thresholds'] or 'none'} ({report['thresholds_from']})\n"
    )
    path = out / "cross_validation.md"
    path.write_text(text)
    return path
