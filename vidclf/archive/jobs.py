"""The jobs of a batch: which videos, where each one's results go, which are already done,
and classifying one video (the function every engine runs, locally or on a Ray worker).

Each video gets ``<out>/<name>.jsonl`` (per-frame results, the same rows as ``vidclf run
--results``), ``<name>.jsonl.summary.json`` (its segments) and, once it has finished
without error, ``<name>.done.json``: a batch that is run again skips the videos that have
one (resumable), and a video that failed is tried again.

Usage::

    jobs = plan_jobs(["archive/", "extra.mp4"], "runs/batch")
    result = classify_video(jobs[0], cfg)      # a VideoResult; never raises for a bad video
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import io
import json
import os
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

from vidclf.config import Config, file_run_config
from vidclf.errors import VidclfError

# A file that decodes fewer of the frames its container declares than this share is cut or
# corrupt: it fails (and is tried again next time) instead of passing as a normal end.
MIN_DECODED_SHARE = 0.9
VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".ts", ".wmv", ".flv"}


@dataclass(frozen=True)
class VideoJob:
    source: str  # the video file
    name: str  # unique within the batch: the file's stem (+ a short hash when stems collide)
    out_dir: str

    @property
    def results(self) -> Path:
        return Path(self.out_dir) / f"{self.name}.jsonl"

    @property
    def done_marker(self) -> Path:
        return Path(self.out_dir) / f"{self.name}.done.json"


@dataclass
class VideoResult:
    name: str
    source: str
    status: str  # "done" | "failed" | "skipped" (done by an earlier run) | "interrupted" (redone next time)
    error: str | None = None
    frames: int = 0
    classified: int = 0
    video_s: float = 0.0  # length of the video (its own timeline)
    elapsed_s: float = 0.0  # wall time spent on it
    dominant_label: str | None = None
    dominant_share: float = 0.0
    segments: int = 0

    @property
    def speed(self) -> float:
        """Video seconds classified per wall second."""
        return self.video_s / self.elapsed_s if self.elapsed_s > 0 else 0.0


def find_videos(inputs: list[str | Path]) -> list[Path]:
    """Video files named directly, found in folders (recursively), or listed one per line in
    a ``@list.txt``; in order, each once."""
    found: list[Path] = []
    for item in inputs:
        text = str(item)
        if text.startswith("@"):
            listing = Path(text[1:])
            if not listing.is_file():
                raise VidclfError(f"list file not found: {listing}")
            lines = [line.strip() for line in listing.read_text().splitlines()]
            lines = [line for line in lines if line and not line.startswith("#")]
            found += [Path(line) if Path(line).is_absolute() else listing.parent / line for line in lines]
        elif Path(text).is_dir():
            found += sorted(p for p in Path(text).rglob("*") if p.suffix.lower() in VIDEO_SUFFIXES and p.is_file())
        else:
            found.append(Path(text))  # a missing file becomes that video's error, not the batch's
    unique = list(dict.fromkeys(p.resolve() if p.exists() else p for p in found))
    if not unique:
        raise VidclfError(f"no video files in {', '.join(map(str, inputs))}")
    return unique


def plan_jobs(inputs: list[str | Path], out_dir: str | Path) -> list[VideoJob]:
    videos = find_videos(inputs)
    stems = Counter(p.stem for p in videos)
    jobs = []
    for path in videos:
        name = path.stem
        if stems[name] > 1:  # same file name in two folders: both keep their results
            name = f"{name}-{hashlib.sha1(str(path).encode()).hexdigest()[:8]}"
        jobs.append(VideoJob(str(path), name, str(out_dir)))
    return jobs


def longest_first(jobs: list[VideoJob]) -> list[VideoJob]:
    """The jobs, biggest file first (the longest-processing-time rule): the videos that start
    last are the short ones, so the workers finish together instead of one long video running
    alone at the end. File size stands in for length: it is free, while reading each
    container's duration costs tens of milliseconds a file, minutes for a large archive."""

    def size(job: VideoJob) -> int:
        try:
            return os.stat(job.source).st_size
        except OSError:
            return 0  # reported when its turn comes

    return sorted(jobs, key=size, reverse=True)


def already_done(job: VideoJob) -> VideoResult | None:
    try:
        data = json.loads(job.done_marker.read_text())
        return dataclasses.replace(VideoResult(**data), status="skipped")
    except (OSError, ValueError, TypeError):
        return None


class _Stopped(Exception):
    pass


def _relay(batch_stop, video_stop: threading.Event) -> None:
    """Stop the video when the batch stops; ends with the video (its pipeline sets its stop)."""
    while not video_stop.wait(0.1):
        if batch_stop.is_set():
            video_stop.set()


@functools.lru_cache(maxsize=2)
def _classifier(path: str, labels: str | None, threads: int):
    # one model per worker process, loaded by its first video and reused by the others
    from vidclf.runtime.classifier import load_classifier

    return load_classifier(path, labels, threads)


def classify_video(job: VideoJob, cfg: Config, batch_stop=None) -> VideoResult:
    """Classify one video through the streaming pipeline; a bad video comes back as a
    ``failed`` result with the one-line reason, never as an exception. ``batch_stop`` (a
    ``threading`` or ``multiprocessing`` Event: the batch is stopping) ends it as
    ``interrupted``, like a signal does."""
    from rich.console import Console

    from vidclf.pipeline.orchestrator import run_pipeline

    started = time.monotonic()
    result = VideoResult(job.name, job.source, "failed")
    try:
        Path(job.out_dir).mkdir(parents=True, exist_ok=True)
        job.done_marker.unlink(missing_ok=True)
        run_cfg = file_run_config(cfg, job.source, job.results)
        classifier = _classifier(str(run_cfg.model.path), run_cfg.model.labels, run_cfg.model.threads)
        video_stop = threading.Event()  # the pipeline sets its own at the end: the batch's must stay as it is
        if batch_stop is not None:
            if batch_stop.is_set():
                raise _Stopped
            threading.Thread(target=_relay, args=(batch_stop, video_stop), name="batch-stop-relay", daemon=True).start()
        summary = run_pipeline(run_cfg, Console(file=io.StringIO()), classifier, stop=video_stop).streams[0]
    except _Stopped:
        result.status, result.error = "interrupted", "interrupted: the batch was stopped"
    except VidclfError as exc:
        result.error = str(exc)
    except Exception as exc:  # noqa: BLE001  one broken video must not end the batch
        result.error = f"{type(exc).__name__}: {exc}"
    else:
        result.frames, result.classified = summary.frames_shown, summary.frames_classified
        result.segments = len(summary.segments)
        if summary.segments:
            frame_s = 1.0 / (summary.source_fps or 30.0)
            result.video_s = summary.segments[-1]["end_s"] + frame_s  # the last frame lasts too
            shares = Counter()
            for seg in summary.segments:
                shares[seg["label"]] += seg["frames"]
            label, count = shares.most_common(1)[0]
            result.dominant_label, result.dominant_share = label, round(count / max(summary.frames_shown, 1), 3)
        declared = summary.frames_declared
        if summary.ended_by.startswith("SIG"):  # a signal: this video is redone on resume
            result.status, result.error = "interrupted", f"interrupted by {summary.ended_by}"
        elif batch_stop is not None and batch_stop.is_set():  # the batch was stopped (a signal to the parent of this worker)
            result.status, result.error = "interrupted", "interrupted: the batch was stopped"
        elif summary.error:
            result.error = summary.error
        elif summary.frames_shown == 0:
            result.error = "no frame could be decoded"
        elif declared and summary.frames_read < MIN_DECODED_SHARE * declared:
            result.error = f"decoded only {summary.frames_read} of the {declared} frames the file declares (cut or corrupt)"
        else:
            result.status = "done"
    result.elapsed_s = time.monotonic() - started
    if result.status == "done":
        job.done_marker.write_text(json.dumps(asdict(result), indent=1) + "\n")
    return result
