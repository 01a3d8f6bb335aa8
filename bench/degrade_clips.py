#!/usr/bin/env python3
"""Re-encode a folder of labelled clips the way footage is degraded in the wild, to measure how a
model holds up on it (`evaluate.py --clips` on the output folder).

    python bench/degrade_clips.py OUT [--clips ../shared/data/clips] [--crf 40] [--scale 1.0]
    python3 evaluate.py --clips OUT --out runs/eval-degraded

Every frame is optionally shrunk by ``--scale`` (INTER_AREA) and enlarged back to its size (a
low-resolution source, upscaled by the player), then the clip is encoded as H.264 (libx264,
``--crf``: 23 is a good copy, 40 a low-bitrate stream) at its own frame rate. ``labels.json``
is copied, so the ground truth still applies (frame counts and rates do not change). FFmpeg
comes with the ``av`` wheel (requirements-dev.txt); nothing is written into the input folder.

The output is derived from the validation clips: like them, it is for evaluation only, never
for training.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from fractions import Fraction
from pathlib import Path

import av
import cv2

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from vidclf.config import load_config  # noqa: E402
from vidclf.evaluation.clips import load_ground_truth  # noqa: E402


def degrade(frame, scale: float):
    h, w = frame.shape[:2]
    even = frame[: h // 2 * 2, : w // 2 * 2]  # yuv420p needs even sides
    if scale >= 1.0:
        return even
    small = (max(2, int(w * scale)), max(2, int(h * scale)))
    return cv2.resize(cv2.resize(even, small, interpolation=cv2.INTER_AREA), even.shape[1::-1], interpolation=cv2.INTER_LINEAR)


def reencode(src: Path, dst: Path, crf: int, scale: float) -> int:
    capture = cv2.VideoCapture(str(src))
    fps = Fraction(capture.get(cv2.CAP_PROP_FPS) or 30).limit_denominator(1001)
    frames = 0
    with av.open(str(dst), "w") as container:
        stream = None
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            frame = degrade(frame, scale)
            if stream is None:
                stream = container.add_stream("libx264", rate=fps)
                stream.width, stream.height, stream.pix_fmt = frame.shape[1], frame.shape[0], "yuv420p"
                stream.options = {"crf": str(crf), "preset": "veryfast"}
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="bgr24")))
            frames += 1
        if stream is not None:
            container.mux(stream.encode())
    capture.release()
    return frames


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out", help="output folder (a copy of the clips folder's layout)")
    p.add_argument("--clips", default=None, help="labelled clips folder (default: the config's evaluate.clips)")
    p.add_argument("--crf", type=int, default=40, help="x264 constant rate factor, 0-51 (default 40)")
    p.add_argument("--scale", type=float, default=1.0, help="shrink each frame by this factor and back (default 1: no)")
    args = p.parse_args()
    if not 0 <= args.crf <= 51 or not 0.05 <= args.scale <= 1.0:
        p.error("--crf must be 0-51 and --scale 0.05-1.0")
    clips = Path(args.clips or load_config().evaluate.clips)
    out = Path(args.out)
    if out.resolve() == clips.resolve():
        p.error("OUT must not be the clips folder")
    out.mkdir(parents=True, exist_ok=True)
    shutil.copy(clips / "labels.json", out / "labels.json")
    for truth in load_ground_truth(clips / "labels.json"):  # the clips evaluate.py scores
        src, dst = clips / truth.name, out / truth.name  # the container follows the name's suffix
        frames = reencode(src, dst, args.crf, args.scale)
        print(f"{src.name}: {frames} frames, {src.stat().st_size // 1024} -> {dst.stat().st_size // 1024} KB", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
