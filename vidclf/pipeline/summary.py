"""What a run reports when it ends: one :class:`StreamSummary` per source inside one
:class:`RunSummary`, and the plain-text report of both (one printer for any number of streams).

Usage::

    summary = run_pipeline(cfg)
    summary.streams[0].frames_shown, summary.ended_by
    print_summary(summary)
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

from vidclf.core.states import EndedBy
from vidclf.sinks.outputs import STDOUT
from vidclf.sinks.terminal import write_text


@dataclass
class StreamSummary:
    source: str
    ended_by: str  # an EndedBy, or the name of the signal that ended the run ("SIGTERM")
    frames_read: int
    frames_shown: int
    frames_dropped: int
    reconnects: int
    elapsed_s: float
    frames_classified: int = 0  # seen by the model; others carried the latest label (classify_fps, live backlog)
    source_fps: float | None = None  # as the source reports it (None: unknown)
    # CPU seconds of this stream's own threads (grabber, renderer); the shared predictor and
    # the rest of the process are the run's (RunSummary)
    stage_cpu_s: dict[str, float] = field(default_factory=dict)
    recording: str | None = None
    frames_recorded: int = 0
    recording_fps: float | None = None
    letterboxed_frames: int = 0  # recorded after the source came back at another resolution
    results: str | None = None
    segments: list[dict] = field(default_factory=list)
    inference_ms_p50: float = 0.0
    latency_ms_p50: float = 0.0
    latency_ms_p95: float = 0.0
    error: str | None = None
    output_failures: list[str] = field(default_factory=list)  # outputs that failed and were skipped (the run went on)
    frames_declared: int | None = None  # a file's frame count as its container states it


@dataclass
class RunSummary:
    streams: list[StreamSummary]
    elapsed_s: float = 0.0
    cpu_s: float = 0.0  # the whole process while streaming (model loading excluded)
    predictor_cpu_s: float = 0.0  # the shared predictor's threads
    threads_alive: list[str] = field(default_factory=list)  # threads that outlived the run's end

    @property
    def error(self) -> str | None:
        """The streams that failed, one line (a single stream: its error as is)."""
        failed = [s for s in self.streams if s.error]
        if len(self.streams) == 1:
            return self.streams[0].error
        return "; ".join(f"{s.source}: {s.error}" for s in failed) or None

    @property
    def ended_by(self) -> str:
        return self.streams[0].ended_by if self.streams else EndedBy.STOPPED


def _stream_lines(summary: StreamSummary) -> list[str]:
    fps = summary.frames_shown / summary.elapsed_s if summary.elapsed_s > 0 else 0.0
    lines = [
        f"source: {summary.source}",
        f"ended by: {summary.ended_by}; frames read {summary.frames_read}, shown {summary.frames_shown}, "
        f"classified {summary.frames_classified}, dropped {summary.frames_dropped}, reconnects {summary.reconnects}; "
        f"{summary.elapsed_s:.1f} s ({fps:.1f} FPS)",
        f"inference p50 {summary.inference_ms_p50:.1f} ms; capture->overlay latency p50 {summary.latency_ms_p50:.1f} ms, "
        f"p95 {summary.latency_ms_p95:.1f} ms",
    ]
    if summary.recording:
        lines.append(f"recording: {summary.recording} ({summary.frames_recorded} frames at {summary.recording_fps or 0:.2f} FPS)")
        if summary.letterboxed_frames:
            lines.append(
                f"warning: the source came back at another resolution; {summary.letterboxed_frames} frames "
                "were letterboxed into the recording's size"
            )
    if summary.results and summary.results != STDOUT:
        lines.append(f"results: {summary.results} (+ .summary.json)")
    lines += [f"warning: {failure}" for failure in summary.output_failures]
    for seg in summary.segments:
        span = f"{seg['start_s']:.2f}-{seg['end_s']:.2f} s"
        lines.append(f"  frames {seg['first_frame']:>6}-{seg['last_frame']:<6} {span:>18}  {seg['label']}")
    return lines


def _cpu_lines(summary: RunSummary) -> list[str]:
    """The process's CPU per frame shown, by stage (the streams' own threads summed)."""
    shown = sum(s.frames_shown for s in summary.streams)
    classified = sum(s.frames_classified for s in summary.streams)
    lines = []
    if len(summary.streams) > 1:
        lines.append(f"all {len(summary.streams)} streams: shown {shown}, classified {classified} in {summary.elapsed_s:.1f} s")
    if not shown:
        return lines
    stages = {"grabber": 0.0, "predictor": summary.predictor_cpu_s, "renderer": 0.0}
    for stream in summary.streams:
        for stage, seconds in stream.stage_cpu_s.items():
            stages[stage] = stages.get(stage, 0.0) + seconds
    stages["other"] = max(0.0, summary.cpu_s - sum(stages.values()))
    per_stage = ", ".join(f"{k} {1000 * v / shown:.1f}" for k, v in stages.items())
    lines.append(
        f"CPU {1000 * summary.cpu_s / shown:.1f} ms/frame (all threads); by stage: {per_stage} "
        "(other: inference and decoder worker threads, dashboard, sinks)"
    )
    return lines


def print_summary(summary: RunSummary, file=None) -> None:
    """Plain-text end-of-run report: each stream, then the process's figures (stdout by
    default; a reader that is gone is ignored)."""
    lines = [line for stream in summary.streams for line in _stream_lines(stream)]
    lines += _cpu_lines(summary)
    if summary.threads_alive:
        lines.append(f"warning: threads still running at exit: {', '.join(summary.threads_alive)}")
    write_text("\n".join(lines) + "\n", file or sys.stdout)
