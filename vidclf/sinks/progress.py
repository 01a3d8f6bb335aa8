"""A progress bar with ETA while a file is replayed without the dashboard (on stderr, so
stdout stays free for ``--results -``).

Usage::

    sink = ProgressSink(total_frames=540, name="montage.mp4")
    ...                     # the renderer calls sink.on_frame(result) per frame
    sink.close()
"""

from __future__ import annotations

import sys

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from vidclf.core.records import FrameResult
from vidclf.sinks.events import Sink


def progress_bar(console: Console, unit: str = "", disable: bool = False) -> Progress:
    """The one progress bar look (file replays, archive batches): name, bar, done/total
    [unit], elapsed, ETA, and a free ``info`` field. Tasks must set ``info``."""
    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn()]
    columns += [TextColumn(unit)] if unit else []
    columns += [TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), TextColumn("{task.fields[info]}")]
    return Progress(*columns, console=console, transient=False, disable=disable)


class ProgressSink(Sink):
    output_name = "progress bar"

    def __init__(self, total_frames: int | None, name: str, console: Console | None = None):
        # rich draws from its own refresh thread; on_frame only advances a counter
        self.progress = progress_bar(console or Console(file=sys.stderr), "frames")
        self.task = self.progress.add_task(name, total=total_frames, info="")
        self.progress.start()

    def on_frame(self, result: FrameResult) -> None:
        self.progress.update(self.task, completed=result.frame_index + 1, info=result.label)

    def close(self) -> None:
        try:
            self.progress.stop()
        except OSError:  # the terminal went away: nothing left to draw on
            pass
