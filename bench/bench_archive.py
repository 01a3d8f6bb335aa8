"""Archive throughput: video seconds classified per wall second, side by side in one run.

    python bench/bench_archive.py [--clips DIR] [--classify-fps 10] [--rounds 3] [--no-ray]
                                  [--models models/sports22.tflite,models/sports22.int8.onnx]
                                  [--with "NAME:BATCH OPTIONS" ...]

The same folder of clips through ``vidclf batch`` with the local pool at 1 and 2 workers and
with Ray at 2 workers (a local Ray instance: the same code path a cluster runs), interleaved
over ``--rounds``, each run into a fresh output folder (``--redo``). Wall time includes
starting the workers and loading the model in each, as a user pays it. Medians are quoted.

Ray runs twice: ``ray, 2 workers`` starts (and stops) its own local instance inside the batch,
as ``vidclf batch --engine ray`` without ``--address`` does; ``ray, running instance`` is given
the address of a local instance this script started once before the rounds (on 127.0.0.1,
stopped at the end), which is what a batch on a cluster that is already up pays.

``--models`` runs every variant with each model file (default: the config's model alone).
``--with`` adds a variant: the local pool at 2 workers with more ``vidclf batch`` options, e.g.
``--with "gated:--set model.classify_on_change=true" --with "gated, reference frames:--set
model.classify_on_change=true --decode-frames reference"``.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CLIPS = ROOT.parent / "shared" / "data" / "clips"


def batch(clips: Path, out: Path, *args: str) -> dict:
    command = [sys.executable, "-m", "vidclf", "batch", str(clips), "--out", str(out), "--redo", "-q", *args]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=env, timeout=3600)
    report = json.loads((out / "batch_summary.json").read_text())
    if report["done"] == 0:
        raise SystemExit(f"nothing classified: {run.stderr[-1500:]}")
    return report


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clips", type=Path, default=DEFAULT_CLIPS)
    p.add_argument("--classify-fps", default="10")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--no-ray", action="store_true")
    p.add_argument("--models", help="comma-separated model files, each run with every variant (default: the config's model)")
    p.add_argument("--with", dest="more", action="append", default=[], metavar="NAME:OPTIONS",
                   help="a variant: 2 local workers with these vidclf batch options (repeatable)")  # fmt: skip
    args = p.parse_args()
    variants = {"local, 1 worker": ["--workers", "1"], "local, 2 workers": ["--workers", "2"]}
    for item in args.more:
        name, _, options = item.partition(":")
        variants[f"local, 2 workers, {name}"] = ["--workers", "2", *shlex.split(options)]
    if not args.no_ray:
        import ray

        # an instance owned by this process: ray.shutdown() at the end stops exactly what it started
        ray.init(num_cpus=os.cpu_count(), include_dashboard=False, logging_level="ERROR", _node_ip_address="127.0.0.1")
        address = ray.get_runtime_context().gcs_address
        variants["ray, 2 workers"] = ["--workers", "2", "--engine", "ray"]
        variants["ray, running instance"] = ["--workers", "2", "--engine", "ray", "--address", address]
    if args.models:
        variants = {
            f"{name}, {Path(model).name}": [*extra, "--model", str(Path(model).resolve())]
            for model in args.models.split(",")
            for name, extra in variants.items()
        }
    speeds: dict[str, list[float]] = {name: [] for name in variants}
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(args.rounds):
            for name, extra in variants.items():
                out = Path(tmp) / f"{round_}-{name.replace(' ', '').replace(',', '-')}"
                report = batch(args.clips, out, "--classify-fps", args.classify_fps, *extra)
                speeds[name].append(report["video_s"] / report["elapsed_s"])
                print(
                    f"round {round_ + 1} {name:<21}: {report['video_s']:.0f} s of video in {report['elapsed_s']:.1f} s "
                    f"= {speeds[name][-1]:.1f}x real time ({report['done']} done, {report['failed']} failed)",
                    flush=True,
                )
    print(f"\nmedians over {args.rounds} rounds, classify_fps {args.classify_fps}, {args.clips}:")
    base_name = next(name for name in speeds if name.startswith("local, 2 workers"))
    base = statistics.median(speeds[base_name])
    for name, values in speeds.items():
        med = statistics.median(values)
        print(f"  {name:<21} {med:.1f}x real time ({med / base:.2f} of {base_name})")
    if not args.no_ray:
        ray.shutdown()


if __name__ == "__main__":
    main()
