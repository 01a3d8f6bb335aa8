"""The outputs a run can ask for, as one table of sinks.

Each row names the config key that turns an output on, checks its settings before anything
starts (a bad path, URL or extension is one error line before any camera opens) and opens it
for one stream. Adding an output is one :class:`Sink` class and one row here; the
orchestrator only walks the table. Every output receives the same
:class:`~vidclf.core.records.FrameResult` per frame and the same segment events.

The window and the browser view are shared by every stream of a run, so the orchestrator
opens them once (the browser view's row only checks its settings).

Usage::

    check_settings(cfg)                                  # before anything starts
    sinks = open_sinks(cfg, StreamContext("court1", "rtsp://cam/1", labels, fps=25.0))
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from vidclf.config import Config, value_at
from vidclf.core.metrics import PipelineStats
from vidclf.sinks.events import Sink
from vidclf.sinks.hard_frames import HardFrameSink, check_folder
from vidclf.sinks.mqtt import MqttSink, check_broker, check_topic_prefix
from vidclf.sinks.record import Recorder, RecordingSink
from vidclf.sinks.results import ResultsSink, ResultsWriter
from vidclf.sinks.serve import check_token, parse_address
from vidclf.sinks.subtitles import SrtSink, check_srt_path
from vidclf.sinks.timeline import TimelineSink, check_timeline_path
from vidclf.sinks.webhook import WebhookSink, check_url


@dataclass(frozen=True)
class StreamContext:
    """What an output needs to know about the stream it serves."""

    name: str  # one topic level / file-name part: no URL, no credentials
    source: str  # as shown to people (credentials masked)
    labels: list[str]
    fps: float | None = None  # as the source reports it (None: measured by the recording)
    stats: PipelineStats | None = None  # the stream's meters (the dashboard's recorded count)
    about: dict | None = None  # the run as summaries name it: source, model and its sha256, settings, start
    shown_name: str | None = None  # the stream's name for people (--name, or the source's short name)


@dataclass(frozen=True)
class OutputRow:
    key: str  # the dotted config key that turns the output on
    check: Callable[[Config], object]
    open: Callable[[Config, StreamContext], Sink] | None  # None: opened once for every stream by the orchestrator


def _check_mqtt(cfg: Config) -> None:
    check_broker(cfg.events.mqtt, cfg.events.mqtt_ca)
    check_topic_prefix(cfg.events.mqtt_topic)
    if cfg.events.mqtt_discovery:
        check_topic_prefix(cfg.events.mqtt_discovery_prefix)


def _open_mqtt(cfg: Config, stream: StreamContext) -> MqttSink:
    events = cfg.events
    discovery = events.mqtt_discovery_prefix if events.mqtt_discovery else None
    return MqttSink(events.mqtt, events.mqtt_topic, stream.name, events.mqtt_ca, discovery, stream.shown_name)


def _check_serve(cfg: Config) -> None:
    parse_address(cfg.serve.address)
    check_token(cfg.serve.token)


OUTPUTS: tuple[OutputRow, ...] = (
    OutputRow(
        "output.video",
        lambda c: Recorder(c.output.video, None),  # the extension names a codec it knows
        lambda c, s: RecordingSink(c.output.video, c.output.fps or s.fps, s.stats),
    ),
    OutputRow("output.srt", lambda c: check_srt_path(c.output.srt), lambda c, s: SrtSink(c.output.srt)),
    OutputRow(
        "output.timeline",
        lambda c: check_timeline_path(c.output.timeline),
        lambda c, s: TimelineSink(c.output.timeline, c.smoothing.uncertain_below, s.source, s.labels),
    ),
    OutputRow(
        "events.webhook",
        lambda c: check_url(c.events.webhook),
        lambda c, s: WebhookSink(c.events.webhook, c.events.webhook_timeout_s, c.events.webhook_retries),
    ),
    OutputRow("events.mqtt", _check_mqtt, _open_mqtt),
    OutputRow(
        "output.save_uncertain",
        lambda c: check_folder(c.output.save_uncertain),
        lambda c, s: HardFrameSink(c.output.save_uncertain, s.name, s.source, c.output.save_uncertain_per_min),
    ),
    # opened last: the file exists from here on, so every output that can fail to open has first
    OutputRow(
        "output.results",
        lambda c: ResultsWriter.check_suffix(c.output.results),
        lambda c, s: ResultsSink(c.output.results, s.about),
    ),
    OutputRow("serve.address", _check_serve, None),
    OutputRow("serve.metrics", lambda c: parse_address(c.serve.metrics), None),
)


def requested(cfg: Config) -> list[OutputRow]:
    """The rows whose key ``cfg`` sets."""
    return [row for row in OUTPUTS if value_at(cfg, row.key)]


def check_settings(cfg: Config) -> None:
    """Every requested output's settings; the first bad one raises :class:`~vidclf.errors.VidclfError`."""
    for row in requested(cfg):
        row.check(cfg)


def close_quietly(sinks: list[Sink]) -> None:
    """Close sinks of a run that is failing anyway: their complaints would hide the real error."""
    for sink in sinks:
        try:
            sink.close()
        except Exception:  # noqa: BLE001
            pass


def open_sinks(cfg: Config, stream: StreamContext) -> list[Sink]:
    """The requested per-stream outputs, opened (a failure closes those already opened)."""
    sinks: list[Sink] = []
    try:
        for row in requested(cfg):
            if row.open is not None:
                sinks.append(row.open(cfg, stream))
    except BaseException:
        close_quietly(sinks)
        raise
    return sinks
