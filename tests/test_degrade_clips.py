"""bench/degrade_clips.py: the validation clips re-encoded worse, still matching their labels.json."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import cv2
import numpy as np
from conftest import CLIPS, ROOT

CLIP = "fencing_short_bout.mp4"  # 28 frames: seconds to re-encode


def _frames(path) -> list[np.ndarray]:
    capture, out = cv2.VideoCapture(str(path)), []
    while (read := capture.read())[0]:
        out.append(read[1])
    return out


def test_degraded_copy_keeps_frames_and_labels_and_loses_detail(tmp_path, shared):
    clips = tmp_path / "clips"
    clips.mkdir()
    shutil.copy(CLIPS / CLIP, clips / CLIP)
    labels = json.loads((CLIPS / "labels.json").read_text())
    labels["clips"] = {CLIP: labels["clips"][CLIP]}
    (clips / "labels.json").write_text(json.dumps(labels))

    runs = {}
    for name, flags in {"crf40": ["--crf", "40"], "small": ["--crf", "23", "--scale", "0.25"]}.items():
        out = tmp_path / name
        done = subprocess.run(
            [sys.executable, str(ROOT / "bench" / "degrade_clips.py"), str(out), "--clips", str(clips), *flags],
            capture_output=True, text=True, timeout=120,
        )
        assert done.returncode == 0, done.stderr
        assert json.loads((out / "labels.json").read_text()) == labels
        runs[name] = _frames(out / CLIP)

    original = _frames(clips / CLIP)
    for name, frames in runs.items():
        assert len(frames) == len(original) == 28, name  # the ground truth's frame numbers still apply
        assert frames[0].shape[:2] == (original[0].shape[0] // 2 * 2, original[0].shape[1] // 2 * 2)
    # detail is gone: less high-frequency energy than the original frame, and it differs from it
    sharpness = lambda im: cv2.Laplacian(cv2.cvtColor(im, cv2.COLOR_BGR2GRAY), cv2.CV_64F).var()  # noqa: E731
    for name, frames in runs.items():
        assert sharpness(frames[10]) < 0.8 * sharpness(original[10]), name
        assert np.abs(frames[10].astype(int) - original[10].astype(int)).mean() > 1.0, name


def test_bad_settings_exit_2_without_a_traceback(tmp_path):
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "degrade_clips.py"), str(tmp_path / "out"), "--crf", "60"],
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 2 and "--crf must be 0-51" in done.stderr and "Traceback" not in done.stderr
