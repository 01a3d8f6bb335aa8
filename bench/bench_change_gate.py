"""Change gating (``model.classify_on_change``) measured side by side in one run.

    python bench/bench_change_gate.py [--clips ../shared/data/clips] [--rounds 3] [--threshold 0.02]

For every clip of the folder, each setting is replayed as the archive mode replays a file
(every frame read, as fast as it goes), the settings interleaved in each round:

  fps10        model.classify_fps 10 (the archive's usual cap)
  fps10+gate   the same with change gating
  all          every frame classified
  all+gate     every frame a candidate, change gating on

Prints, per clip and in total: the share of frames the model saw, model calls, the process's
CPU seconds per second of video and the real-time factor (video seconds per wall second),
as medians over the rounds, and the ratios gate / no gate taken within each round. Clips
named ``generic_*`` (streets, traffic, pedestrians: static cameras, no sport) are totalled
apart: that is where gating should save the most. Accuracy is the evaluation command's job
(``python3 evaluate.py --classify-on-change``); docs/benchmarks.md quotes both.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from rich.console import Console  # noqa: E402

from vidclf.config import file_run_config, load_config, override  # noqa: E402
from vidclf.pipeline.orchestrator import run_pipeline  # noqa: E402
from vidclf.runtime.classifier import load_classifier  # noqa: E402

SETTINGS = {
    "fps10": {"model.classify_fps": 10.0},
    "fps10+gate": {"model.classify_fps": 10.0, "model.classify_on_change": True},
    "all": {},
    "all+gate": {"model.classify_on_change": True},
}


def replay(cfg, clip: Path, classifier, out: Path) -> dict:
    wall, cpu = time.monotonic(), time.process_time()
    summary = run_pipeline(file_run_config(cfg, clip, out), Console(file=io.StringIO()), classifier)
    stream = summary.streams[0]
    video_s = stream.frames_shown / (stream.source_fps or 30.0)
    return {
        "frames": stream.frames_shown,
        "classified": stream.frames_classified,
        "video_s": video_s,
        "cpu_s": time.process_time() - cpu,
        "wall_s": time.monotonic() - wall,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", default=str(ROOT.parent / "shared" / "data" / "clips"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threshold", type=float, default=None, help="model.change_threshold (default: the config's)")
    args = parser.parse_args()
    cfg = load_config()
    if args.threshold is not None:
        cfg = override(cfg, {"model.change_threshold": args.threshold})
    clips = sorted(p for p in Path(args.clips).iterdir() if p.suffix.lower() in (".mp4", ".avi", ".mkv"))
    classifier = load_classifier(cfg.model.path, cfg.model.labels, cfg.model.threads)
    runs: dict[tuple[str, str], list[dict]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for round_no in range(args.rounds):
            for clip in clips:
                for name, values in SETTINGS.items():
                    result = replay(override(cfg, values), clip, classifier, Path(tmp) / "r.jsonl")
                    runs.setdefault((clip.name, name), []).append(result)
            print(f"round {round_no + 1}/{args.rounds} done", file=sys.stderr, flush=True)

    def median(clip_names, setting, key) -> float:
        per_round = [sum(runs[(c, setting)][r][key] for c in clip_names) for r in range(args.rounds)]
        return statistics.median(per_round)

    def ratio(clip_names, a, b, key) -> float:
        per_round = [
            sum(runs[(c, a)][r][key] for c in clip_names) / max(1e-9, sum(runs[(c, b)][r][key] for c in clip_names))
            for r in range(args.rounds)
        ]
        return statistics.median(per_round)

    groups = {
        "sport and mixed clips": [c.name for c in clips if not c.name.startswith("generic_")],
        "static no-sport footage (generic_*)": [c.name for c in clips if c.name.startswith("generic_")],
        "all clips": [c.name for c in clips],
    }
    print(f"change gating, threshold {cfg.model.change_threshold}, max interval {cfg.model.change_max_interval_s} s; "
          f"{args.rounds} rounds, medians; {os.cpu_count()} CPUs")  # fmt: skip
    for title, names in groups.items():
        if not names:
            continue
        print(f"\n{title} ({len(names)} clips, {median(names, 'all', 'video_s'):.0f} s of video)")
        print(f"  {'setting':<11} {'model saw':>10} {'calls':>7} {'CPU s / video s':>16} {'x real time':>12}")
        for setting in SETTINGS:
            frames, classified = median(names, setting, "frames"), median(names, setting, "classified")
            cpu_per_s = median(names, setting, "cpu_s") / median(names, setting, "video_s")
            speed = median(names, setting, "video_s") / median(names, setting, "wall_s")
            print(f"  {setting:<11} {classified / frames:>10.3f} {classified:>7.0f} {cpu_per_s:>16.3f} {speed:>12.1f}")
        for base in ("fps10", "all"):
            gated = f"{base}+gate"
            print(
                f"  {gated} / {base}: model calls x{ratio(names, gated, base, 'classified'):.3f}, "
                f"CPU x{ratio(names, gated, base, 'cpu_s'):.3f}, wall time x{ratio(names, gated, base, 'wall_s'):.3f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
