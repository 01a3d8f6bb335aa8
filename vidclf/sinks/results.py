"""Per-frame results (``.jsonl`` or ``.csv``) and the summary of labelled segments.

Each row is a frame's :class:`~vidclf.core.records.FrameResult` (``as_dict()``): frame index,
capture time (seconds since the stream started), position in the video file (files only), the
smoothed label and confidence, the raw top-k, inference and capture->overlay latency, whether the
model saw the frame, and the capture's wall-clock time (ISO 8601, UTC). At the end,
:class:`~vidclf.core.records.SegmentTracker` turns the smoothed labels into segments (runs of one label), written
next to the results as ``<results>.summary.json``.

Usage::

    results = ResultsWriter("out.jsonl")
    results.write(frame_result)
    results.close(segments=tracker.as_dicts())
    results.summary   # {"frames": ..., "segments": [...]}

    sink = ResultsSink("out.jsonl")   # the same, as one of a run's sinks: the segments come
                                      # from the segment events it receives
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

from vidclf.core.records import FrameResult, SegmentEvent
from vidclf.core.states import EventKind
from vidclf.errors import ReaderGone, VidclfError
from vidclf.sinks.events import Sink
from vidclf.sinks.outputs import STDOUT, summary_path
from vidclf.sinks.terminal import detach


class ResultsWriter:
    FIELDS = list(FrameResult.ROW_FIELDS)

    @staticmethod
    def check_suffix(path: str | Path) -> str:
        if str(path) == STDOUT:
            return ".jsonl"
        suffix = Path(path).suffix.lower()
        if suffix not in (".jsonl", ".csv"):
            raise VidclfError(f"results file must end in .jsonl or .csv, got {Path(path).name}")
        return suffix

    def __init__(self, path: str | Path):
        self.path = Path(path)
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

    def write(self, result: FrameResult) -> None:
        row = result.as_dict()
        try:
            if self._csv:
                row["top_k"] = ";".join(f"{n}:{p}" for n, p in row["top_k"])
                self._csv.writerow([row[name] for name in self.FIELDS])
            else:
                self._file.write(json.dumps(row) + "\n")
                if self.to_stdout:  # a pipe reader sees each row as it comes
                    self._file.flush()
        except OSError as exc:
            if self.to_stdout:  # the reader went away (| head): nobody is left to produce for
                detach(self._file)
                raise ReaderGone(f"the reader of the results on standard output went away after {self.rows} rows") from None
            self._fail(exc)
        self.rows += 1

    def _fail(self, exc: OSError) -> None:
        try:
            self._file.close()
        except OSError:
            pass  # the buffered tail is lost with the disk; the row count below says so
        raise VidclfError(f"cannot write results {self.path}: {exc.strerror or exc}; it holds {self.rows} rows") from None

    def close(self, segments: list[dict] | None = None, about: dict | None = None) -> None:
        """Close the file and write ``<results>.summary.json``: ``about`` the run (source,
        model, settings, start), the frame count and ``segments``."""
        self.summary = {**(about or {}), "frames": self.rows, "segments": segments or []}
        if self.to_stdout:  # standard output stays open; the segments are in the run summary
            return
        if self._file.closed:
            return
        try:
            self._file.close()
        except OSError as exc:
            self._fail(exc)
        path = summary_path(self.path)
        try:
            path.write_text(json.dumps(self.summary, indent=1) + "\n")
        except OSError as exc:
            raise VidclfError(f"cannot write results summary {path}: {exc.strerror or exc}") from None


class ResultsSink(Sink):
    """The results file as a sink: a row per frame; at the end the segments it was told of
    (every segment ends with an ``end`` event, the last one when the stream ends)."""

    output_name = "results"

    def __init__(self, path: str | Path, about: dict | None = None):
        self.writer = ResultsWriter(path)
        self.about = about  # what the summary says of the run: source, model, settings, start
        self.segments: list[dict] = []

    def on_frame(self, result: FrameResult) -> None:
        self.writer.write(result)

    def on_segment(self, event: SegmentEvent) -> None:
        if event.kind is EventKind.END:
            self.segments.append(event.segment.as_dict())

    def close(self) -> None:
        self.writer.close(self.segments, self.about)
