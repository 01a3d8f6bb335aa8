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

import numpy as np

from vidclf.config import SmoothingConfig
from vidclf.pipeline.orchestrator import make_decoder
from vidclf.streaming.decoding import FrameLabeler
from vidclf.streaming.smoothing import make_smoother


def replay_clip(
    probs: np.ndarray,
    fps: float,
    cuts: np.ndarray,
    labels: list[str],
    smoothing: SmoothingConfig,
    model_thresholds: dict[str, float] | None = None,
    times: np.ndarray | None = None,
) -> list[dict]:
    """One row per frame (frame, position_s, label shown, confidence, raw top-1) for calibrated
    ``probs`` of shape (frames, classes); ``cuts[i]`` is frame i's scene-cut distance;
    ``times[i]`` its place in the clip (default ``i / fps``: a constant frame rate)."""
    s = smoothing
    labeler = FrameLabeler(make_smoother(s.mode, s.size, s.ema_alpha, s.window_s), make_decoder(s, labels, model_thresholds))
    rows = []
    for i, p in enumerate(probs):
        t = i / fps if times is None else float(times[i])
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
