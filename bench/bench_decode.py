"""Decoding CPU per frame: every frame (OpenCV, as streaming reads files) against reference frames
only (``source.decode_frames: reference``, PyAV with B-frames skipped), side by side in one run.

    python bench/bench_decode.py [--clips DIR] [--rounds 5]

Each round reads every clip to its end both ways, alternating which goes first; CPU time of this
thread (decoding + conversion to BGR, what the frame grabber pays). Medians over the rounds.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import cv2

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from vidclf.streaming.reference_frames import ReferenceFramesCapture  # noqa: E402

DEFAULT_CLIPS = ROOT.parent / "shared" / "data" / "clips"


def read_through(capture) -> tuple[float, int, int]:
    """(CPU seconds, frames out, pictures decoded) for reading ``capture`` to its end."""
    started, frames = time.thread_time(), 0
    while capture.read()[0]:
        frames += 1
    seconds = time.thread_time() - started
    capture.release()
    return seconds, frames, getattr(capture, "decoded", frames)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clips", type=Path, default=DEFAULT_CLIPS)
    p.add_argument("--rounds", type=int, default=5)
    args = p.parse_args()
    clips = sorted(args.clips.glob("*.mp4"))
    openers = {
        "every frame (OpenCV)": lambda path: cv2.VideoCapture(str(path), cv2.CAP_FFMPEG, [cv2.CAP_PROP_N_THREADS, 1]),
        "reference frames (PyAV)": lambda path: ReferenceFramesCapture(str(path), 1),
    }
    cpu: dict[str, dict[str, list[float]]] = {name: {c.name: [] for c in clips} for name in openers}
    counts: dict[str, tuple[int, int]] = {}
    for round_ in range(args.rounds):
        order = list(openers) if round_ % 2 == 0 else list(reversed(openers))
        for clip in clips:
            for name in order:
                seconds, frames, decoded = read_through(openers[name](clip))
                cpu[name][clip.name].append(seconds)
                if name.startswith("reference"):
                    counts[clip.name] = (frames, decoded)
    base, ours = (cpu[name] for name in openers)
    print(f"decoding CPU, medians of {args.rounds} rounds, one thread, {args.clips}:")
    print(f"  {'clip':<38} {'frames':>6} {'decoded':>7} {'all ms/f':>9} {'ref ms/f':>9} {'ratio':>6}")
    totals = [0.0, 0.0]
    for clip in clips:
        frames, decoded = counts[clip.name]
        a, b = statistics.median(base[clip.name]), statistics.median(ours[clip.name])
        totals[0] += a
        totals[1] += b
        print(f"  {clip.name:<38} {frames:>6} {decoded:>7} {1000 * a / frames:>9.2f} {1000 * b / frames:>9.2f} {b / a:>6.2f}")
    frames = sum(f for f, _ in counts.values())
    decoded = sum(d for _, d in counts.values())
    print(f"  {'all clips':<38} {frames:>6} {decoded:>7} {1000 * totals[0] / frames:>9.2f} "
          f"{1000 * totals[1] / frames:>9.2f} {totals[1] / totals[0]:>6.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
