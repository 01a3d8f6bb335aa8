"""The ``rich`` terminal dashboard: rates, latency, queue depth, drops, current label.

:func:`render_dashboard` turns a :class:`~vidclf.core.metrics.PipelineStats` into a rich table
(pure, so tests render it to text); :class:`Dashboard` refreshes it on a ``rich.live.Live``
display from its own thread until the stop event is set.

Usage::

    with Dashboard([("clip.mp4", stats, frames_queue)], stop, model="m.tflite", refresh_hz=4):
        ...   # pipeline runs
"""

from __future__ import annotations

import threading
import time

from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.table import Table

from vidclf.core.frame_queue import FrameQueue
from vidclf.core.metrics import PipelineStats
from vidclf.core.states import SourceState
from vidclf.sinks.terminal import detach

STATE_STYLES = {
    SourceState.STREAMING: "green",
    SourceState.RECONNECTING: "yellow",
    SourceState.WAITING: "yellow",
    SourceState.FAILED: "red",
}


def render_dashboard(stats: PipelineStats, frames: FrameQueue, source: str, model: str) -> Table:
    # source, model and labels are user text: escaped, so "[red]" or "[/]" in them is shown as is
    table = Table(title=f"vidclf — {escape(source)}", caption=f"model {escape(str(model))}", show_header=False, min_width=52)
    table.add_column("metric", style="bold cyan")
    table.add_column("value", justify="right")
    state_style = STATE_STYLES.get(stats.source_state, "white")
    table.add_row("source state", f"[{state_style}]{stats.source_state}[/] (reconnects {stats.reconnects})")
    table.add_row("source FPS", f"{stats.source_fps.rate():.1f}")
    table.add_row("inference FPS", f"{stats.inference_fps.rate():.1f}")
    table.add_row("display FPS", f"{stats.display_fps.rate():.1f}")
    table.add_row("inference ms p50 / p95", f"{stats.infer_ms.percentile(50):.1f} / {stats.infer_ms.percentile(95):.1f}")
    table.add_row("latency ms p50 / p95", f"{stats.latency_ms.percentile(50):.1f} / {stats.latency_ms.percentile(95):.1f}")
    table.add_row("queue depth", f"{len(frames)} / {frames.maxsize}")
    table.add_row("dropped frames", str(frames.dropped))
    table.add_row("frames shown / recorded", f"{stats.display_fps.count} / {stats.frames_written}")
    table.add_row("label", f"[bold]{escape(stats.label or '-')}[/]")
    for name, p in stats.top_k:
        table.add_row(f"  {escape(name)}", f"{p:.3f}")
    table.add_row("elapsed", f"{time.monotonic() - stats.started_at:.1f} s")
    return table


class Dashboard:
    """Live terminal view of a run's streams (one stream: :func:`render_dashboard`, several:
    :func:`render_streams`); a no-op when ``enabled`` is False."""

    def __init__(
        self,
        streams: list[tuple[str, PipelineStats, FrameQueue]],
        stop: threading.Event,
        model: str,
        refresh_hz: float = 4.0,
        enabled: bool = True,
        console: Console | None = None,
    ):
        self.streams, self.stop, self.model = streams, stop, model
        self.period = 1.0 / refresh_hz
        self.enabled = enabled
        self.console = console or Console()
        self._thread: threading.Thread | None = None
        self._done = threading.Event()
        self.gone = False

    def _table(self) -> Table:
        if len(self.streams) == 1:
            name, stats, frames = self.streams[0]
            return render_dashboard(stats, frames, name, self.model)
        return render_streams(self.streams, self.model)

    def _run(self) -> None:
        while not self._done.wait(self.period):
            if not self._refresh():
                return

    def _refresh(self) -> bool:
        """Redraw; False once the terminal is gone (closed, or a pipe whose reader quit):
        the run goes on without a dashboard."""
        try:
            self._live.update(self._table(), refresh=True)
            return True
        except OSError:
            self.gone = True
            detach(self.console.file)
            return False

    def __enter__(self) -> Dashboard:
        if self.enabled:
            self._live = Live(self._table(), console=self.console, auto_refresh=False, transient=False)
            try:
                self._live.__enter__()
            except OSError:
                self.gone = True
                detach(self.console.file)
            self._thread = threading.Thread(target=self._run, name="dashboard", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._thread is not None:
            self._done.set()
            self._thread.join(timeout=2)
            if not self.gone:
                self._refresh()
            try:
                self._live.__exit__(None, None, None)
            except OSError:
                detach(self.console.file)


def render_streams(streams: list[tuple[str, PipelineStats, FrameQueue]], model: str) -> Table:
    """One row per stream plus totals (several sources in one process)."""
    table = Table(title=f"vidclf — {len(streams)} streams", caption=f"model {escape(str(model))}", min_width=90)
    for column in ("stream", "state", "source FPS", "classified FPS", "latency p95 ms", "queue", "dropped", "shown", "label"):
        table.add_column(column, justify="left" if column in ("stream", "state", "label") else "right")
    for name, stats, frames in streams:
        state_style = STATE_STYLES.get(stats.source_state, "white")
        table.add_row(
            escape(name),
            f"[{state_style}]{stats.source_state}[/]" + (f" ({stats.reconnects})" if stats.reconnects else ""),
            f"{stats.source_fps.rate():.1f}",
            f"{stats.inference_fps.rate():.1f}",
            f"{stats.latency_ms.percentile(95):.0f}",
            f"{len(frames)}/{frames.maxsize}",
            str(frames.dropped),
            str(stats.display_fps.count),
            f"[bold]{escape(stats.label or '-')}[/]",
        )
    table.add_row(
        "[bold]all[/]",
        "",
        f"{sum(s.source_fps.rate() for _, s, _ in streams):.1f}",
        f"{sum(s.inference_fps.rate() for _, s, _ in streams):.1f}",
        f"{max((s.latency_ms.percentile(95) for _, s, _ in streams), default=0):.0f}",
        "",
        str(sum(f.dropped for _, _, f in streams)),
        str(sum(s.display_fps.count for _, s, _ in streams)),
        "",
    )
    return table
