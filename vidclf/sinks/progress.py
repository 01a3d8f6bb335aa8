"""A progress bar with ETA while a file is replayed without the dashboard (on stderr, so
stdout stays free for ``--results -``).

Usage::

    with ProgressSink(total_frames=540, name="montage.mp4") as sink:
        ...                 # the renderer calls sink.on_frame(result) per frame
"""

from __future__ import annotations

import sys

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from vidclf.sinks.events import FrameResult, Sink


class ProgressSink(Sink):
    def __init__(self, total_frames: int | None, name: str, console: Console | None = None):
        # rich draws from its own refresh thread; on_frame only advances a counter
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("frames"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[label]}"),
            console=console or Console(file=sys.stderr),
            transient=False,
        )
        self.task = self.progress.add_task(name, total=total_frames, label="")
        self.progress.start()

    def on_frame(self, result: FrameResult) -> None:
        self.progress.update(self.task, completed=result.frame_index + 1, label=result.label)

    def close(self) -> None:
        try:
            self.progress.stop()
        except OSError:  # the terminal went away: nothing left to draw on
            pass
