"""Live capacity: how many 30 FPS streams one process sustains, vs one process per stream.

    python bench/bench_live_capacity.py [--clip PATH] [--counts 1,2,4,6,8] [--fps 30,10] [--seconds 15]
                                        [--model models/sports22.int8.onnx] [--gating off,on]

Each stream is a ``--realtime --loop`` replay of a shared 480p clip (paced like a camera,
frames dropped when nobody takes them). For N streams, side by side in one run:
  one process  -- ``vidclf run --source clip x N --results {name}.jsonl`` (shared predictor)
  N processes  -- N ``vidclf run --source clip`` started together
each at ``model.classify_fps`` 30 (every frame) and 10, and with ``--gating off,on`` also with
change gating (``model.classify_on_change``) side by side. After a warm-up (the first 3 s of each
stream), from the results files: steady-state drops (gaps in the frame numbers) and the
capture -> overlay latency p95 over all streams, and from /proc the cores the processes used
in the second half of the run (all threads; 2.0 = both cores busy; the first half holds the
start-up: imports, model loading). A setting "sustains" N when no stream drops a
frame in steady state and p95 <= 150 ms. Prints a table and the largest N sustained by each.

For one process it also prints the run's own CPU per frame by stage (``grabber``: reading and
decoding; ``predictor``: schedule, change gate, resize and the model; ``renderer``: records and
outputs) and the cores a stream costs, and ends with the CPU ceiling: how many streams the
machine's cores could carry at 100 % busy at that cost, and with the decoding alone. No
scheduling can sustain more streams than the ceiling, and latency limits come before it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CLIP = ROOT.parent / "shared" / "data" / "clips" / "volleyball_indoor_practice.mp4"
WARMUP_S = 3.0
P95_LIMIT_MS = 150.0
# the run's own end-of-run report (vidclf/pipeline/summary.py): CPU per frame shown, by stage
CPU_LINE = re.compile(r"CPU ([\d.]+) ms/frame \(all threads\); by stage: grabber ([\d.]+), predictor ([\d.]+), renderer ([\d.]+)")


def _start(args: list[str], cwd: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [
        sys.executable,
        str(ROOT / "stream_classify.py"),
        *args,
        "--realtime",
        "--loop",
        "--no-display",
        "--dashboard",
        "off",
    ]
    return subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _steady(rows: list[dict]) -> tuple[int, list[float]]:
    """Frames dropped after the warm-up (gaps in the frame numbers) and the latencies there."""
    if not rows:
        return 10**9, []
    t0 = rows[0]["time_s"]
    steady = [r for r in rows if r["time_s"] - t0 >= WARMUP_S]
    dropped = sum(b["frame"] - a["frame"] - 1 for a, b in zip(steady, steady[1:], strict=False))
    return dropped, [r["latency_ms"] for r in steady]


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system, all threads) a running process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(
    clip: Path, n: int, classify_fps: str, separate: bool, seconds: float, tmp: Path, model: Path | None = None,
    gated: bool = False,
) -> dict:  # fmt: skip
    config = tmp / f"c{classify_fps}.yaml"
    path = f"  path: {model.resolve()}\n" if model else ""  # none: the config's default model
    gating = f"  classify_on_change: {'true' if gated else 'false'}\n"
    config.write_text(f"model:\n{path}{gating}  classify_fps: {classify_fps}\n  threads: {1 if separate and n > 1 else 2}\n")
    out = tmp / f"{'sep' if separate else 'one'}-{n}-{classify_fps}-{'gated' if gated else 'all'}"
    out.mkdir()
    if separate:
        processes = [
            _start(["--config", str(config), "--source", str(clip), "--results", str(out / f"s{i}.jsonl")], out) for i in range(n)
        ]
    else:
        sources = [a for _ in range(n) for a in ("--source", str(clip))]
        processes = [_start(["--config", str(config), *sources, "--results", str(out / "{name}.jsonl")], out)]
    time.sleep(seconds / 2)
    cpu_started, started = sum(_cpu_s(p.pid) for p in processes), time.monotonic()
    time.sleep(seconds / 2)
    cores = (sum(_cpu_s(p.pid) for p in processes) - cpu_started) / (time.monotonic() - started)
    for process in processes:
        process.send_signal(signal.SIGTERM)
    reports = [process.communicate(timeout=60)[0] for process in processes]
    stages = CPU_LINE.search(reports[0]) if not separate else None
    drops, latencies, rows_seen, classified = 0, [], 0, 0
    files = sorted(out.glob("*.jsonl"))
    for path in files:
        rows = [json.loads(line) for line in path.read_text().splitlines()]
        dropped, lat = _steady(rows)
        drops += dropped
        latencies += lat
        rows_seen += len(rows)
        classified += sum(1 for r in rows if r.get("classified", True))
    latencies.sort()
    p95 = latencies[int(0.95 * (len(latencies) - 1))] if latencies else float("inf")
    ok = len(files) == n and drops == 0 and p95 <= P95_LIMIT_MS
    return {
        "n": n,
        "fps": classify_fps,
        "mode": ("N processes" if separate else "one process") + (", gated" if gated else ""),
        "classified": classified / rows_seen if rows_seen else 0.0,
        "drops": drops,
        "p95": p95,
        "cores": cores,
        "ok": ok,
        # ms per frame shown: all, grabber, predictor, renderer (one process only)
        "cpu_ms": tuple(float(x) for x in stages.groups()) if stages else None,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clip", type=Path, default=DEFAULT_CLIP)
    p.add_argument("--counts", default="1,2,4,6,8")
    p.add_argument("--fps", default="30,10")
    p.add_argument("--seconds", type=float, default=15.0)
    p.add_argument("--modes", default="one,separate", help="one process, separate processes, or both (one,separate)")
    p.add_argument("--model", type=Path, help="model file (default: the config's)")
    p.add_argument("--gating", default="off", help="change gating off, on, or both side by side (off,on)")
    args = p.parse_args()
    modes = [m.strip() == "separate" for m in args.modes.split(",")]
    gatings = [g.strip() == "on" for g in args.gating.split(",")]
    counts = [int(c) for c in args.counts.split(",")]
    best: dict[tuple[str, str], int] = {}
    ceilings: list[tuple[str, str, int, bool, float, float]] = []  # fps, mode, N, sustained, cores a stream, grabber ms/frame
    with tempfile.TemporaryDirectory() as tmp:
        for fps in args.fps.split(","):
            for n in counts:
                for separate in modes:
                    for gated in gatings:
                        r = measure(args.clip, n, fps, separate, args.seconds, Path(tmp), args.model, gated)
                        cpu = ""
                        if r["cpu_ms"]:
                            total, grabber, predictor, renderer = r["cpu_ms"]
                            cpu = f" (CPU ms/frame {total}: grabber {grabber}, predictor {predictor}, renderer {renderer})"
                            ceilings.append((fps, r["mode"], n, r["ok"], r["cores"] / n, grabber))
                        print(
                            f"classify_fps {fps:>2} {r['mode']:<20} N={n}: steady-state drops {r['drops']}, "
                            f"p95 {r['p95']:.0f} ms, cores used {r['cores']:.2f}{cpu}, frames classified {r['classified']:.2f} "
                            f"-> {'sustained' if r['ok'] else 'not sustained'}",
                            flush=True,
                        )
                        if r["ok"]:
                            best[(fps, r["mode"])] = max(best.get((fps, r["mode"]), 0), n)
    print(f"\nlargest N sustained ({args.clip.name}, 0 steady-state drops, p95 <= {P95_LIMIT_MS:.0f} ms, counts {args.counts}):")
    for fps in args.fps.split(","):
        found = {mode: n for (f, mode), n in best.items() if f == fps}
        one, sep, gated = found.get("one process", 0), found.get("N processes", 0), found.get("one process, gated", 0)
        line = f"  classify_fps {fps:>2}: " + (", ".join(f"{mode} {n}" for mode, n in sorted(found.items())) or "none")
        if one and sep:
            line += f"; one process / separate {one / sep:.2f}x"
        if one and gated:
            line += f"; gated / not gated {gated / one:.2f}x"
        print(line)
    _print_ceiling(args.clip, ceilings)


def _print_ceiling(clip: Path, ceilings: list[tuple[str, str, int, bool, float, float]]) -> None:
    """The most streams the cores could carry at a stream's cost where it runs as it should: at
    the largest N sustained (none: the smallest N run). Past that N a stream costs less only
    because frames are dropped and fewer are classified."""
    capture = cv2.VideoCapture(str(clip))
    source_fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
    capture.release()
    cores = os.cpu_count() or 1
    runs: dict[tuple[str, str], list[tuple]] = {}
    for fps, mode, *run in ceilings:  # run: N, sustained, cores a stream, grabber ms/frame
        runs.setdefault((fps, mode), []).append(tuple(run))
    # the largest N sustained; none sustained: the smallest N run
    chosen = {setting: max(found, key=lambda r: (r[1], r[0] if r[1] else -r[0])) for setting, found in runs.items()}
    if chosen:
        print(f"\nCPU ceiling ({cores} cores, {source_fps:.0f} FPS streams; a stream's cost at the largest N sustained):")
    for (fps, mode), (n, ok, per_stream, grabber_ms) in chosen.items():
        decoding = grabber_ms * source_fps / 1000  # cores a stream's grabber uses
        print(
            f"  classify_fps {fps:>2} {mode}: {per_stream:.3f} cores a stream (N={n}{'' if ok else ', not sustained'}) -> "
            f"at most {cores / per_stream:.1f} streams with every core busy; the grabbers alone "
            f"({decoding:.3f} cores a stream) {cores / decoding:.1f}"
        )


if __name__ == "__main__":
    main()
