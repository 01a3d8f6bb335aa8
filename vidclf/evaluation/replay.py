"""Replay per-frame class probabilities through the streaming smoother and decoder.

The model's cost is the whole cost of scoring a clip; once each frame's probabilities are known,
the label a user would see under any smoothing setting follows in milliseconds. The replay uses
the pipeline's own pieces (:func:`make_smoother`, :func:`make_decoder`, the scene-cut distances
of :class:`SceneCutDetector`) on every frame, as a file replay classifies every frame, and writes
rows with the fields :func:`vidclf.evaluation.clips.score_clip` reads. Settings chosen this way are
confirmed with ``vidclf evaluate`` (the real streaming path) before they are reported.

Usage::

    rows = replay_clip(probs, fps=30.0, cuts=cut_distances, labels=labels, smoothing=cfg.smoothing)
    score_clip(ClipTruth("clip.mp4", "tennis"), rows)["accuracy"]
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from vidclf.config import ModelConfig, SmoothingConfig
from vidclf.core.messages import Frame
from vidclf.errors import VidclfError
from vidclf.pipeline.orchestrator import make_decoder
from vidclf.runtime.preprocess import colour_distance
from vidclf.streaming.change_gate import ChangeGate
from vidclf.streaming.decoding import FrameLabeler
from vidclf.streaming.schedule import ClassifySchedule
from vidclf.streaming.smoothing import make_smoother

if TYPE_CHECKING:  # the replay itself needs no training code (nor TensorFlow) at run time
    from vidclf.training.features import ClipFeatures, ClipPictures


def replay_clip(
    probs: np.ndarray,
    fps: float,
    cuts: np.ndarray,
    labels: list[str],
    smoothing: SmoothingConfig,
    model_thresholds: dict[str, float] | None = None,
    times: np.ndarray | None = None,
    classified: np.ndarray | None = None,
) -> list[dict]:
    """One row per frame (frame, position_s, label shown, confidence, raw top-1) for calibrated
    ``probs`` of shape (frames, classes); ``cuts[i]`` is frame i's scene-cut distance;
    ``times[i]`` its place in the clip (default ``i / fps``: a constant frame rate);
    ``classified[i]`` False: the frame carries the last classified frame's row, as the
    pipeline's schedule does (default: every frame classified)."""
    s = smoothing
    labeler = FrameLabeler(make_smoother(s.mode, s.size, s.ema_alpha, s.window_s), make_decoder(s, labels, model_thresholds))
    rows: list[dict] = []
    for i, p in enumerate(probs):
        t = i / fps if times is None else float(times[i])
        if classified is not None and not classified[i] and rows:
            rows.append({**rows[-1], "frame": i, "position_s": t, "time_s": t, "classified": False})
            continue
        _smoothed, label, confidence = labeler.step(p, t, bool(s.scene_cut and cuts[i] > s.scene_cut_threshold))
        top = int(np.argmax(p))
        rows.append(
            {
                "frame": i,
                "position_s": t,
                "time_s": t,
                "label": label,
                "confidence": confidence,
                "top_k": [[labels[top], float(p[top])]],
            }
        )
    return rows


def schedule_mask(small: np.ndarray, times: np.ndarray, model: ModelConfig) -> np.ndarray:
    """Which frames a file run classifies under ``model.classify_fps`` and change gating: the
    pipeline's own :class:`ClassifySchedule` and :class:`ChangeGate`, asked frame by frame
    (``small``: each frame's :func:`~vidclf.runtime.preprocess.small_copy`)."""
    gate = ChangeGate(model.change_threshold, model.change_max_interval_s) if model.classify_on_change else None
    schedule = ClassifySchedule(model.classify_fps, live=False, gate=gate)
    mask, have_label = np.zeros(len(times), bool), False  # have_label: the predictor's `latest is not None`
    for i, (picture, t) in enumerate(zip(small, times, strict=True)):
        mask[i] = schedule.choose([Frame(i, picture, 0.0, float(t))], have_label)[0]
        have_label = have_label or bool(mask[i])
    return mask


def scheduled(clip: ClipFeatures, pictures: ClipPictures, model: ModelConfig) -> ClipFeatures:
    """``clip`` as a run under ``model``'s schedule sees it: which frames are classified, and
    each classified frame's scene-cut distance to the previous classified one (the detector
    only looks at the frames the model sees)."""
    times = np.arange(len(clip.features)) / clip.fps
    mask = schedule_mask(pictures.small, times, model)
    return dataclasses.replace(clip, cut_distances=cut_distances(pictures.signatures, mask), classified=mask)


def cut_distances(signatures: np.ndarray, seen: np.ndarray) -> np.ndarray:
    """Each frame's scene-cut distance when the detector looks only at the ``seen`` frames: a
    seen frame's distance to the seen frame before it, 0 for the first and for every other."""
    cuts, frames = np.zeros(len(seen), np.float32), np.flatnonzero(seen)
    for previous, i in zip(frames[:-1], frames[1:], strict=True):
        cuts[i] = colour_distance(signatures[previous], signatures[i])
    return cuts


def decoded_frames(path: str | Path, frames: int) -> np.ndarray:
    """Which of the ``frames`` frames of the file at ``path`` a run with ``source.decode_frames:
    reference`` decodes (all of them for a file it reads in full)."""
    from vidclf.streaming.reference_frames import ReferenceFramesCapture

    try:
        capture = ReferenceFramesCapture(str(path))
    except VidclfError:
        return np.ones(frames, bool)
    flags = capture.decoded_flags()
    capture.release()
    if len(flags) != frames:
        raise VidclfError(f"{path}: {len(flags)} frames read with reference-frame decoding, {frames} in full")
    return np.array(flags, bool)


def reference_decoded(clip: ClipFeatures, pictures: ClipPictures, decoded: np.ndarray) -> tuple[ClipFeatures, ClipPictures]:
    """``clip`` and its ``pictures`` as a run decoding only reference frames sees them: a frame
    not ``decoded`` shows the last decoded picture (before the first one: that one), to the model,
    the change gate and the scene-cut detector alike."""
    decoded = np.asarray(decoded, bool)
    last = np.maximum.accumulate(np.where(decoded, np.arange(len(decoded)), -1))
    source = np.where(last < 0, int(np.argmax(decoded)), last)
    seen = dataclasses.replace(pictures, small=pictures.small[source], signatures=pictures.signatures[source])
    # a repeated picture changes nothing: cuts fall between consecutive decoded frames only
    cuts = cut_distances(pictures.signatures, decoded)
    return dataclasses.replace(clip, features=clip.features[source], cut_distances=cuts), seen
