"""Per-frame results (``.jsonl`` or ``.csv``) and the summary of labelled segments.

Each row: frame index, capture time (seconds since the stream started), position in the video
file (files only), the raw top-k, the
smoothed label and confidence, inference and capture->overlay latency. At the end,
:class:`SegmentTracker` turns the smoothed labels into segments (runs of one label), written
next to the results as ``<results>.summary.json``.

Usage::

    results = ResultsWriter("out.jsonl", labels, k=3)
    results.write(prediction, latency_ms=12.0, t0=start)
    results.close(segments=tracker.as_dicts())
    results.summary   # {"frames": ..., "segments": [...]}
"""

from __future__ import annotations

import csv
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from vidclf.errors import VidclfError
from vidclf.sinks.outputs import STDOUT, summary_path
from vidclf.sinks.overlay import top_k
from vidclf.sinks.terminal import detach
from vidclf.streaming.messages import Prediction


@dataclass
class Segment:
    label: str
    first_frame: int
    last_frame: int
    start_s: float
    end_s: float

    @property
    def frames(self) -> int:
        return self.last_frame - self.first_frame + 1


class SegmentTracker:
    """Collapse a stream of (frame, time, label) into runs of the same label."""

    def __init__(self):
        self.segments: list[Segment] = []

    def add(self, frame: int, t: float, label: str) -> tuple[Segment | None, Segment | None]:
        """Extend the current segment, or end it and start another: returns (ended, started).

        A timeline that goes back (a ``--loop`` file starting again) also starts a segment,
        so that every segment is one stretch of the file, with ``start_s <= end_s``."""
        last = self.segments[-1] if self.segments else None
        if last is not None and last.label == label and t >= last.end_s:
            last.last_frame, last.end_s = frame, t
            return None, None
        started = Segment(label, frame, frame, t, t)
        self.segments.append(started)
        return last, started

    def as_dicts(self) -> list[dict]:
        return [{**asdict(s), "frames": s.frames} for s in self.segments]


class ResultsWriter:
    FIELDS = ["frame", "time_s", "position_s", "label", "confidence", "top_k", "infer_ms", "latency_ms", "classified"]

    @staticmethod
    def check_suffix(path: str | Path) -> str:
        if str(path) == STDOUT:
            return ".jsonl"
        suffix = Path(path).suffix.lower()
        if suffix not in (".jsonl", ".csv"):
            raise VidclfError(f"results file must end in .jsonl or .csv, got {Path(path).name}")
        return suffix

    def __init__(self, path: str | Path, labels: list[str], k: int = 3):
        self.path = Path(path)
        self.labels, self.k = labels, k
        suffix = self.check_suffix(self.path)
        self.to_stdout = str(path) == STDOUT
        try:
            # line-buffered: readers can follow the file live, and a failing disk shows at
            # the row that failed instead of at close
            self._file = sys.stdout if self.to_stdout else self.path.open("w", newline="", buffering=1)
        except OSError as exc:
            raise VidclfError(f"cannot write results {self.path}: {exc.strerror}") from None
        self._csv = csv.writer(self._file) if suffix == ".csv" else None
        if self._csv:
            self._csv.writerow(self.FIELDS)
        self.rows = 0
        self.summary: dict | None = None

    def write(self, prediction: Prediction, latency_ms: float, t0: float) -> None:
        t = prediction.frame.captured_at - t0
        position = prediction.frame.position_s
        label = prediction.label
        raw = [[name, round(p, 4)] for name, p in top_k(prediction.probs, self.labels, self.k)]
        row = [
            prediction.frame.index,
            round(t, 4),
            None if position is None else round(position, 4),
            label,
            round(prediction.confidence, 4),
            raw,
            round(prediction.infer_ms, 3),
            round(latency_ms, 3),
            prediction.classified,
        ]
        try:
            if self._csv:
                row[5] = ";".join(f"{n}:{p}" for n, p in raw)
                self._csv.writerow(row)
            else:
                self._file.write(json.dumps(dict(zip(self.FIELDS, row, strict=True))) + "\n")
                if self.to_stdout:  # a pipe reader sees each row as it comes
                    self._file.flush()
        except OSError as exc:
            if self.to_stdout:  # the reader went away (| head): the run goes on without it
                detach(self._file)
                self.rows += 1
                return
            self._fail(exc)
        self.rows += 1

    def _fail(self, exc: OSError) -> None:
        try:
            self._file.close()
        except OSError:
            pass  # the buffered tail is lost with the disk; the row count below says so
        raise VidclfError(f"cannot write results {self.path}: {exc.strerror or exc}; it holds {self.rows} rows") from None

    def close(self, segments: list[dict] | None = None) -> None:
        """Close the file and write ``<results>.summary.json`` with ``segments``."""
        if self.to_stdout:  # standard output stays open; the segments are in the run summary
            self.summary = {"frames": self.rows, "segments": segments or []}
            return
        if self._file.closed:
            return
        try:
            self._file.close()
        except OSError as exc:
            self._fail(exc)
        self.summary = {"frames": self.rows, "segments": segments or []}
        path = summary_path(self.path)
        try:
            path.write_text(json.dumps(self.summary, indent=1) + "\n")
        except OSError as exc:
            raise VidclfError(f"cannot write results summary {path}: {exc.strerror or exc}") from None
