#!/usr/bin/env python3
"""Soak test: a looping live RTSP source at 30 FPS for N minutes (not part of the test run).

    python bench/soak_rtsp.py [--minutes 10] [--model models/sports22.tflite]

Starts the real RTSP server (tools/rtsp_server.py) on 127.0.0.1, runs ``stream_classify.py``
on it with recording and per-frame results, and every ``--every`` seconds prints the
process's RSS, the capture->overlay latency p95 of the frames of that interval, and frames
classified so far. At the end: RSS growth after warm-up (target < 5 %), the latency p95 of
the last interval against the first (target: flat), and dropped frames from the run summary.
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # the test servers (tests/servers.py)

import numpy as np  # noqa: E402
from servers import RtspServer, extract_frames  # noqa: E402

CLIP = ROOT.parent / "shared" / "data" / "clips" / "soccer_goalkeeper_training.mp4"


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def read_rows(path: Path) -> list[dict]:
    if not path.exists():
        return []
    rows = []
    for line in path.read_text().splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:  # the last line may be half-written
            pass
    return rows


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--every", type=float, default=30.0, help="seconds between samples")
    p.add_argument("--warmup", type=float, default=60.0, help="seconds excluded from the RSS growth")
    p.add_argument("--model", default=str(ROOT / "models" / "sports22.tflite"))
    p.add_argument("--clip", type=Path, default=CLIP)
    args = p.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        frames = extract_frames(args.clip, tmp / "frames", max_frames=300)
        results, video = tmp / "soak.jsonl", tmp / "soak.avi"
        with RtspServer(frames, fps=30) as server:
            cmd = [
                sys.executable,
                str(ROOT / "stream_classify.py"),
                "--source",
                server.url,
                "--model",
                args.model,
                "--results",
                str(results),
                "--output",
                str(video),
                "--no-display",
                "--dashboard",
                "off",
            ]
            proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            start = time.monotonic()
            samples = []  # (t, rss MB, p95 ms of the interval, rows so far)
            seen = 0
            print(f"soak: {server.url} for {args.minutes:g} min, model {Path(args.model).name}")
            print(f"{'t s':>6} {'RSS MB':>8} {'lat p95 ms':>11} {'frames':>8}")
            try:
                while time.monotonic() - start < args.minutes * 60:
                    time.sleep(args.every)
                    if proc.poll() is not None:
                        print("stream_classify.py exited early", file=sys.stderr)
                        return 1
                    rows = read_rows(results)
                    window = [r["latency_ms"] for r in rows[seen:]]
                    seen = len(rows)
                    p95 = float(np.percentile(window, 95)) if window else float("nan")
                    samples.append((time.monotonic() - start, rss_mb(proc.pid), p95, seen))
                    t, rss, lat, n = samples[-1]
                    print(f"{t:6.0f} {rss:8.1f} {lat:11.1f} {n:8d}", flush=True)
            finally:
                proc.send_signal(signal.SIGTERM)
                stdout, _ = proc.communicate(timeout=60)
    print(stdout.strip())
    after = [s for s in samples if s[0] >= args.warmup]
    if len(after) >= 2:
        growth = (after[-1][1] - after[0][1]) / after[0][1] * 100
        print(f"RSS after warm-up: {after[0][1]:.1f} -> {after[-1][1]:.1f} MB ({growth:+.2f} %, target < 5 %)")
    if len(samples) >= 2:
        lat = [s[2] for s in samples]
        print(
            f"latency p95 per interval: first {lat[0]:.1f} ms, median {np.median(lat):.1f} ms, last {lat[-1]:.1f} ms, "
            f"max {max(lat):.1f} ms"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
