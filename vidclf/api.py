"""The Python API: classify a stream from a notebook or another program.

:func:`stream` runs the same threads as the ``vidclf run`` command (grabber, predictor,
renderer; bounded queues; one stop event) and yields one :class:`~vidclf.sinks.events.FrameResult`
per frame. Breaking out of the loop (or closing the generator, or an exception in the loop
body) stops the threads and closes the source and any outputs cleanly. :func:`run` is the
callback form: it blocks until the stream ends and returns the run summary.

Usage::

    import vidclf

    for p in vidclf.stream("clip.mp4"):
        print(p.frame_index, p.label, p.confidence)
        if p.label == "tennis":
            break                                   # threads stop, the source is released

    summary = vidclf.run("rtsp://127.0.0.1:8554/cam",
                         on_frame=lambda p: ..., on_segment=lambda e: print(e.kind, e.label),
                         settings={"smoothing.size": 16, "output.results": "cam.jsonl"})

``settings`` take the dotted keys of ``config.yaml`` (``"smoothing.hysteresis_s"``); no window
and no dashboard are opened unless ``settings`` ask for them. From a file, a slow loop body
holds the pipeline back (no frame is lost); from a live source the oldest unread results are
dropped instead (``dropped`` in the summary counts frames the grabber dropped).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from vidclf.core.frame_queue import FrameQueue
from vidclf.core.records import FrameResult, SegmentEvent
from vidclf.sinks.events import Sink

RESULT_QUEUE_SIZE = 32
_DONE = object()

__all__ = ["FrameResult", "SegmentEvent", "run", "stream"]


def _config(source: str | int | None, model: str | Path | None, config: str | Path | None, settings: dict[str, Any] | None):
    from vidclf.config import load_config, override

    values: dict[str, Any] = {"display.window": "off", "dashboard.enabled": "off"}
    if source is not None:
        values["source.source"], values["sources"] = str(source), []  # one source, whatever the config lists
    if model is not None:
        values["model.path"] = str(model)
    values.update(settings or {})
    return override(load_config(config), values)


class _CallbackSink(Sink):
    wants_image = True  # the callback may use result.image
    output_name = "callback"
    errors_end_run = True  # the caller's own exception reaches the caller (every output is finalised first)

    def __init__(self, on_frame: Callable[[FrameResult], Any] | None, on_segment: Callable[[SegmentEvent], Any] | None):
        self._on_frame, self._on_segment = on_frame, on_segment

    def on_frame(self, result: FrameResult) -> None:
        if self._on_frame is not None:
            self._on_frame(result)

    def on_segment(self, event: SegmentEvent) -> None:
        if self._on_segment is not None:
            self._on_segment(event)


def run(
    source: str | int | None = None,
    *,
    model: str | Path | None = None,
    config: str | Path | None = None,
    settings: dict[str, Any] | None = None,
    on_frame: Callable[[FrameResult], Any] | None = None,
    on_segment: Callable[[SegmentEvent], Any] | None = None,
    stop: threading.Event | None = None,
):
    """Run to the end of the stream (or until ``stop`` is set), calling ``on_frame`` for every
    frame and ``on_segment`` at every label change on the pipeline's renderer thread (keep
    them quick). Returns the stream's :class:`~vidclf.pipeline.summary.StreamSummary`; a bad
    source, model or setting raises :class:`~vidclf.errors.VidclfError`."""
    from vidclf.pipeline.orchestrator import run_pipeline

    cfg = _config(source, model, config, settings)
    return run_pipeline(cfg, config_path=config, stop=stop, sinks=[_CallbackSink(on_frame, on_segment)]).streams[0]


class _QueueSink(Sink):
    """Hands results to the consuming loop: blocking for files (no result lost), newest-first
    for live sources (a slow loop must not make the live picture lag)."""

    wants_image = True  # a notebook shows p.image

    def __init__(self, results: FrameQueue, stop: threading.Event):
        self.results, self.stop = results, stop

    def on_start(self, live: bool) -> None:
        self.results.drop_oldest = live  # the pipeline's one decision (a finite http file is not live)

    def on_frame(self, result: FrameResult) -> None:
        self.results.put(result, self.stop)


def stream(
    source: str | int | None = None,
    *,
    model: str | Path | None = None,
    config: str | Path | None = None,
    settings: dict[str, Any] | None = None,
) -> Iterator[FrameResult]:
    """Yield a :class:`FrameResult` per frame of ``source`` (default: the config's source)."""
    from vidclf.errors import VidclfError
    from vidclf.pipeline.orchestrator import run_pipeline

    cfg = _config(source, model, config, settings)
    stop = threading.Event()
    results = FrameQueue(RESULT_QUEUE_SIZE, drop_oldest=False)  # _QueueSink.on_start sets the policy
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["summary"] = run_pipeline(cfg, config_path=config, stop=stop, sinks=[_QueueSink(results, stop)])
        except BaseException as exc:  # noqa: BLE001  handed to the consumer's thread below
            outcome["error"] = exc
        finally:
            results.put(_DONE, force=True)

    worker = threading.Thread(target=work, name="vidclf-stream", daemon=True)
    worker.start()
    try:
        while True:
            try:
                item = results.get(timeout=0.1)
            except queue.Empty:
                if not worker.is_alive() and not len(results):
                    break
                continue
            if item is _DONE:
                break
            yield item
    finally:
        stop.set()
        worker.join()
    if "error" in outcome:
        raise outcome["error"]
    summary = outcome.get("summary")
    if summary is not None and summary.error:
        raise VidclfError(summary.error)
