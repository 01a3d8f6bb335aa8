"""The run's segments as SubRip subtitles (``.srt``): play them with the recording or the
source file and the label appears under the picture.

Written when the run ends (a segment's end is known only then); times are the stream's own
timeline, so they line up with a file source and with the recording.

Usage::

    sink = SrtSink("match.srt")
    ...                           # the renderer calls sink.on_segment(event)
    sink.close()                  # writes match.srt
"""

from __future__ import annotations

from pathlib import Path

from vidclf.core.records import SegmentEvent
from vidclf.core.states import EventKind
from vidclf.errors import VidclfError
from vidclf.sinks.events import Sink


def srt_time(seconds: float) -> str:
    millis = max(0, round(seconds * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d},{millis:03d}"


def to_srt(segments: list[SegmentEvent], frame_s: float = 1 / 30) -> str:
    """SubRip text for ended segments; each lasts until the next starts (at least one frame)."""
    blocks = []
    for number, seg in enumerate(segments, start=1):
        end = max(seg.end_s if seg.end_s is not None else seg.start_s, seg.start_s) + frame_s
        if number < len(segments):
            end = max(segments[number].start_s, seg.start_s + 0.001)
        blocks.append(f"{number}\n{srt_time(seg.start_s)} --> {srt_time(end)}\n{seg.label}\n")
    return "\n".join(blocks)


def check_srt_path(path: str | Path) -> Path:
    path = Path(path)
    if path.suffix.lower() != ".srt":
        raise VidclfError(f"subtitles file must end in .srt, got {path.name}")
    return path


class SrtSink(Sink):
    output_name = "subtitles"

    def __init__(self, path: str | Path):
        self.path = check_srt_path(path)
        self.segments: list[SegmentEvent] = []

    def on_segment(self, event: SegmentEvent) -> None:
        if event.kind is EventKind.END:
            self.segments.append(event)

    def close(self) -> None:
        try:
            self.path.write_text(to_srt(self.segments), encoding="utf-8")
        except OSError as exc:
            raise VidclfError(f"cannot write subtitles {self.path}: {exc.strerror or exc}") from None
