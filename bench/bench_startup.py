"""Start-up time to the first classified frame, side by side: this checkout vs another commit,
and (optionally) an installed ``vidclf`` command.

    python bench/bench_startup.py [--before COMMIT] [--installed /path/to/venv/bin/vidclf] [--rounds 5]

Each run starts the command on the bundled demo clip with the bundled .tflite model and
stops the clock when the first results row is on disk (the results file is line-buffered).
Interleaved rounds, medians quoted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "models" / "demo" / "basketball_gym_shooting.mp4"
MODEL = ROOT / "models" / "sports22.tflite"


def first_row_s(command: list[str], results: Path, cwd: Path, env: dict) -> float:
    results.unlink(missing_ok=True)
    started = time.monotonic()
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while time.monotonic() - started < 120:
            if results.exists() and results.stat().st_size > 0:
                return time.monotonic() - started
            time.sleep(0.005)
        raise SystemExit(f"no results row after 120 s: {command}")
    finally:
        process.kill()
        process.wait()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--before", default="cbfce31", help="commit to compare with")
    p.add_argument("--installed", help="an installed vidclf command (e.g. a runtime-only venv's bin/vidclf)")
    p.add_argument("--rounds", type=int, default=5)
    args = p.parse_args()
    flags = ["--source", str(DEMO), "--model", str(MODEL), "--no-display", "--dashboard", "off", "--overwrite"]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        before = tmp / "before"
        subprocess.run(["git", "worktree", "add", "-q", "--detach", str(before), args.before], cwd=ROOT, check=True)
        base_env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "PYTHONPATH")}
        variants = {
            f"{args.before} stream_classify.py": ([sys.executable, str(before / "stream_classify.py")], before),
            "this checkout stream_classify.py": ([sys.executable, str(ROOT / "stream_classify.py")], ROOT),
        }
        if args.installed:
            variants["installed vidclf run"] = ([args.installed, "run"], tmp)
        times: dict[str, list[float]] = {name: [] for name in variants}
        try:
            for _ in range(args.rounds):
                for name, (command, cwd) in variants.items():
                    results = tmp / "first.jsonl"
                    times[name].append(first_row_s([*command, *flags, "--results", str(results)], results, cwd, base_env))
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(before)], cwd=ROOT, check=False)
    for name, values in times.items():
        print(f"{name:<40} median {statistics.median(values):.2f} s  ({', '.join(f'{v:.2f}' for v in values)})")


if __name__ == "__main__":
    main()
