"""Run a batch end to end: plan the jobs, skip those done before, run the rest on an engine
with a progress bar (videos and video time, ETA), write ``batch_summary.json``, print a table.

Usage::

    report = run_batch(cfg, ["archive/"], "runs/archive", workers=2)
    report["done"], report["failed"], report["speed_x_realtime"]
"""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from dataclasses import asdict
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from vidclf.archive.engines import run_local, run_ray
from vidclf.archive.jobs import VideoResult, already_done, longest_first, plan_jobs
from vidclf.config import Config, override
from vidclf.errors import VidclfError
from vidclf.sinks.outputs import check_writable, summary_path
from vidclf.sinks.progress import progress_bar
from vidclf.sinks.terminal import detach
from vidclf.streaming.source import decoding_threads

SUMMARY_NAME = "batch_summary.json"


def run_batch(
    cfg: Config,
    inputs: list[str],
    out_dir: str | Path,
    workers: int,
    engine: str = "local",
    address: str | None = None,
    redo: bool = False,
    quiet: bool = False,
) -> dict:
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise VidclfError(f"--out {out_dir} is a file, not a folder")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise VidclfError(f"cannot create the output folder {out_dir}: {exc.strerror or exc}") from None
    check_writable(out_dir / SUMMARY_NAME, "batch summary")
    jobs = plan_jobs(inputs, out_dir)
    _refuse_foreign_files(jobs)
    results: list[VideoResult] = []
    todo = []
    for job in jobs:
        earlier = None if redo else already_done(job)
        if earlier is not None:
            results.append(earlier)
        else:
            todo.append(job)
    cfg = override(cfg, {"source.decode_threads": decoding_threads(cfg.source.decode_threads, workers)})
    console = Console(file=sys.stderr)  # the progress bar; the table goes to stdout
    started = time.monotonic()
    stop = threading.Event()
    with _BatchSignals(stop) as signals:
        todo = longest_first(todo)  # the table and summary keep the input order (sorted below)
        run = run_ray(todo, cfg, workers, address) if engine == "ray" else run_local(todo, cfg, workers, stop)
        with progress_bar(console, disable=quiet or not console.is_terminal) as progress:
            task = progress.add_task("videos", total=len(jobs), completed=len(results), info="")
            try:
                for result in run:
                    results.append(result)
                    if result.status == "interrupted" and result.error.startswith("interrupted by SIG"):
                        # the signal reached the video's own pipeline (one worker: this process)
                        signals.received = signals.received or result.error.removeprefix("interrupted by ")
                    note = f"{result.name}: {result.status}" + (f" ({result.error})" if result.error else "")
                    progress.update(task, advance=1, info=note[:60])
            except KeyboardInterrupt:  # the Ray engine is stopped this way
                signals.received = signals.received or "SIGINT"
    elapsed = time.monotonic() - started
    report = _report(results, jobs, elapsed, workers, engine)
    report["interrupted"] = signals.received  # None: every video had its turn
    (out_dir / SUMMARY_NAME).write_text(json.dumps(report, indent=1) + "\n")
    if not quiet:
        _print_table(Console(file=sys.stdout, width=None if sys.stdout.isatty() else 160), report)
    return report


def _refuse_foreign_files(jobs: list) -> None:
    """A batch replaces its own results freely (it resumes and redoes), but never a file it did
    not write: a ``<name>.jsonl`` it wrote always has its ``.summary.json`` beside it."""
    foreign = [str(job.results) for job in jobs if job.results.exists() and not summary_path(job.results).exists()]
    if foreign:
        listed = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        raise VidclfError(f"refusing to replace {listed}: not written by vidclf batch; move it or choose another --out")


class _BatchSignals:
    """SIGINT / SIGTERM / SIGHUP set ``stop`` (the running videos finalise, no new one starts)
    instead of killing the batch; a second SIGINT while stopping is taken as it comes.
    The Ray engine keeps Python's own Ctrl-C (KeyboardInterrupt), which it handles itself."""

    SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP")

    def __init__(self, stop: threading.Event):
        self.stop, self.received = stop, None
        self._previous: dict = {}

    def _handler(self, signum, _frame) -> None:
        self.received = self.received or signal.Signals(signum).name
        self.stop.set()

    def __enter__(self) -> _BatchSignals:
        if threading.current_thread() is threading.main_thread():
            for name in self.SIGNALS:
                sig = getattr(signal, name, None)
                if sig is not None:
                    self._previous[sig] = signal.signal(sig, self._handler)
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def _report(results: list[VideoResult], jobs, elapsed_s: float, workers: int, engine: str) -> dict:
    order = {job.name: i for i, job in enumerate(jobs)}
    results = sorted(results, key=lambda r: order.get(r.name, 0))
    ran = [r for r in results if r.status == "done"]
    video_s = sum(r.video_s for r in ran)
    return {
        "engine": engine,
        "workers": workers,
        "videos": len(results),
        "done": len(ran),
        "skipped": sum(r.status == "skipped" for r in results),
        "failed": sum(r.status == "failed" for r in results),
        "interrupted_videos": sum(r.status == "interrupted" for r in results),
        "video_s": round(video_s, 2),
        "elapsed_s": round(elapsed_s, 2),
        "speed_x_realtime": round(video_s / elapsed_s, 2) if elapsed_s > 0 and ran else None,
        "results": [{**asdict(r), "speed_x_realtime": round(r.speed, 2)} for r in results],
    }


def _print_table(console: Console, report: dict) -> None:
    title = f"vidclf batch: {report['done']} done, {report['skipped']} skipped, {report['failed']} failed"
    if report.get("interrupted"):
        title += f", interrupted by {report['interrupted']}"
    table = Table(title=title)
    for column in ("video", "status", "length s", "frames", "classified", "dominant label", "segments", "x real time"):
        table.add_column(column, justify="left" if column in ("video", "status", "dominant label") else "right")
    for r in report["results"]:
        status = r["status"] if not r["error"] else f"{r['status']}: {r['error']}"
        dominant = f"{r['dominant_label']} ({r['dominant_share']:.0%})" if r["dominant_label"] else "-"
        cells = [r["name"], status[:70], f"{r['video_s']:.1f}", str(r["frames"]), str(r["classified"]), dominant]
        cells += [str(r["segments"]), f"{r['speed_x_realtime']:.1f}" if r["status"] == "done" else "-"]
        table.add_row(*(Text(c) for c in cells))  # names and errors are user text: no markup
    speed = report["speed_x_realtime"]
    table.caption = (
        f"{report['video_s']:.0f} s of video in {report['elapsed_s']:.1f} s"
        + (f" = {speed:.1f}x real time" if speed else "")
        + f" ({report['engine']} engine, {report['workers']} at a time)"
    )
    try:
        console.print(table)
    except OSError:
        detach(console.file)
