#!/usr/bin/env python3
"""Score a model and its smoothing settings on labelled video clips.

    python evaluate.py                                    # shipped model, ../shared/data/clips
    python evaluate.py --hysteresis 1.0 --size 32         # try other settings
    python evaluate.py --model runs/x/x.tflite --out runs/eval-x --only basketball_gym_shooting.mp4

Each clip runs through the streaming pipeline; writes <out>/evaluation.json, <clip>.jsonl and
<clip>.timeline.png, and prints one line per clip and a summary.
"""

from __future__ import annotations

import argparse

from vidclf.cli.common import add_model_flags, model_overrides, quiet_tensorflow, run_main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_model_flags(p)
    p.add_argument("--clips", help="folder of clips (default: evaluate.clips in the config)")
    p.add_argument("--ground-truth", help="labels.json (default: <clips>/labels.json)")
    p.add_argument("--out", help="output folder (default: evaluate.output_dir in the config)")
    p.add_argument("--only", help="comma-separated clip names to evaluate")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    quiet_tensorflow()
    from vidclf.config import load_config, override
    from vidclf.evaluation.clips import evaluate_clips, summary_line
    from vidclf.sinks.terminal import write_text

    cfg = override(load_config(args.config), model_overrides(args))
    report = evaluate_clips(
        cfg,
        args.clips or cfg.evaluate.clips,
        args.ground_truth,
        args.out or cfg.evaluate.output_dir,
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
    write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(run_main(main))
