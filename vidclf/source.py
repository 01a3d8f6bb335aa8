"""Video sources: parse ``--source``, open it with timeouts, and grab frames on a thread.

A source is a webcam index (``0``), a stream URL (``rtsp://``, ``http(s)://``) or a video file.
Live sources (webcam, stream) feed a drop-oldest queue and reconnect with exponential
backoff and jitter when the stream is lost; files feed a blocking queue so every frame is
classified, and end cleanly.

Usage::

    spec = parse_source("rtsp://127.0.0.1:8554/cam")
    capture, info = open_source(spec, cfg.source)          # raises VidclfError, one line
    grabber = FrameGrabber(spec, capture, info, cfg.source, queue, stop, stats)
    grabber.start()
"""

from __future__ import annotations

import os
import random
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import cv2

from vidclf.config import SourceConfig
from vidclf.errors import VidclfError
from vidclf.frame_queue import FrameQueue
from vidclf.messages import END_OF_STREAM, Frame, StreamReset
from vidclf.metrics import PipelineStats

STREAM_SCHEMES = ("rtsp://", "rtsps://", "rtmp://", "http://", "https://", "udp://", "tcp://")


@dataclass(frozen=True)
class SourceSpec:
    kind: str  # "webcam" | "stream" | "file"
    value: str

    @property
    def live(self) -> bool:
        return self.kind in ("webcam", "stream")

    def __str__(self) -> str:
        return f"webcam {self.value}" if self.kind == "webcam" else self.value

    @property
    def short_name(self) -> str:
        """For narrow displays: a file's name without its folders."""
        return Path(self.value).name if self.kind == "file" else str(self)


@dataclass(frozen=True)
class SourceInfo:
    width: int
    height: int
    fps: float | None  # None when the source does not report a usable rate
    frame_count: int | None


def parse_source(text: str) -> SourceSpec:
    """Classify ``text`` as webcam index, stream URL or file; a missing file is an error."""
    text = str(text).strip()
    if text.isdigit():
        return SourceSpec("webcam", text)
    if text.lower().startswith(STREAM_SCHEMES):
        return SourceSpec("stream", text)
    path = Path(text)
    if not path.exists():
        raise VidclfError(f"video file not found: {text}")
    if not path.is_file():
        raise VidclfError(f"not a video file: {text}")
    return SourceSpec("file", text)


def _capture(spec: SourceSpec, cfg: SourceConfig) -> cv2.VideoCapture:
    if spec.kind == "webcam":
        return cv2.VideoCapture(int(spec.value))
    if spec.kind == "stream":
        # TCP for RTSP: a dead server then shows up as a closed connection at once, instead of
        # UDP silence; the user can still choose other options through this variable.
        os.environ.setdefault("OPENCV_FFMPEG_CAPTURE_OPTIONS", "rtsp_transport;tcp")
    params = [
        cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
        int(cfg.open_timeout_s * 1000),
        cv2.CAP_PROP_READ_TIMEOUT_MSEC,
        int(cfg.read_timeout_s * 1000),
    ]
    return cv2.VideoCapture(spec.value, cv2.CAP_FFMPEG, params)


def _info(capture: cv2.VideoCapture, first_frame) -> SourceInfo:
    fps = capture.get(cv2.CAP_PROP_FPS)
    count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    h, w = first_frame.shape[:2]
    return SourceInfo(w, h, fps if 1.0 <= fps <= 240.0 else None, count if count > 0 else None)


def open_source(spec: SourceSpec, cfg: SourceConfig) -> tuple[cv2.VideoCapture, SourceInfo, object]:
    """Open ``spec`` and read its first frame, or raise :class:`VidclfError` saying why not.

    Returns ``(capture, info, first_frame)``: reading one frame up front is what tells a
    corrupt file or a silent stream apart from a good one before any thread starts.
    """
    capture = _capture(spec, cfg)
    if not capture.isOpened():
        capture.release()
        if spec.kind == "webcam":
            raise VidclfError(f"cannot open webcam {spec.value}: no such camera or it is busy")
        if spec.kind == "stream":
            raise VidclfError(
                f"cannot open stream {spec.value}: unreachable or not a video stream (waited up to {cfg.open_timeout_s:g} s)"
            )
        raise VidclfError(f"cannot open video file {spec.value}: not a video or unsupported format")
    ok, frame = capture.read()
    if not ok or frame is None:
        capture.release()
        what = f"video file {spec.value}" if spec.kind == "file" else str(spec)
        raise VidclfError(f"cannot decode {what}: no frame could be read (corrupt or empty?)")
    return capture, _info(capture, frame), frame


def backoff_delays(initial: float, maximum: float, rng: random.Random | None = None):
    """Yield reconnect delays: exponential growth capped at ``maximum``, with 50-100% jitter
    so that many clients of one server do not reconnect in lock-step."""
    rng = rng or random.Random()
    delay = initial
    while True:
        yield delay * rng.uniform(0.5, 1.0)
        delay = min(maximum, max(delay * 2, 1e-3))


class FrameGrabber(threading.Thread):
    """Reads frames into ``out``; on a live source, survives stream loss by reconnecting.

    Sets ``error`` (a one-line message) and the stop event when a live source stays lost
    longer than ``give_up_after_s``. Always ends by queueing ``END_OF_STREAM``.
    """

    def __init__(
        self,
        spec: SourceSpec,
        capture: cv2.VideoCapture,
        info: SourceInfo,
        first_frame,
        cfg: SourceConfig,
        out: FrameQueue,
        stop: threading.Event,
        stats: PipelineStats,
    ):
        super().__init__(name="grabber", daemon=True)
        self.spec, self.capture, self.info, self.cfg = spec, capture, info, cfg
        self.out, self.stop, self.stats = out, stop, stats
        self._pending = first_frame
        self.error: str | None = None
        self.frames_read = 0

    def run(self) -> None:
        try:
            self._loop()
        except Exception as exc:  # a thread must never die silently: report and stop the pipeline
            self.error = f"frame grabber failed: {type(exc).__name__}: {exc}"
            self.stop.set()
        finally:
            self.capture.release()
            self.stats.source_state = "ended" if self.error is None else "failed"
            self.out.put(END_OF_STREAM, force=True)

    def _emit(self, image) -> bool:
        position = self.frames_read / self.info.fps if self.spec.kind == "file" and self.info.fps else None
        frame = Frame(self.frames_read, image, time.monotonic(), position)
        self.frames_read += 1
        self.stats.source_fps.tick(frame.captured_at)
        return self.out.put(frame, self.stop)

    def _loop(self) -> None:
        self.stats.source_state = "streaming"
        paced = self.spec.kind == "file" and self.cfg.realtime and self.info.fps
        started = time.monotonic()
        rewound = False  # a read failing right after a rewind means the file cannot loop
        if self._pending is not None:
            self._emit(self._pending)
            self._pending = None
        while not self.stop.is_set():
            if paced:  # replay at the clip's own speed, like a camera would deliver it
                delay = started + self.frames_read / self.info.fps - time.monotonic()
                if delay > 0:
                    self.stop.wait(delay)
            ok, image = self.capture.read()
            if ok and image is not None:
                rewound = False
                if not self._emit(image):
                    return
                continue
            if self.spec.kind == "file":
                if self.cfg.loop and not rewound:
                    rewound = True
                    self.capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
                    started = time.monotonic() - self.frames_read / (self.info.fps or 30.0)
                    continue
                return  # end of file
            if not self._reconnect():
                return

    def _reconnect(self) -> bool:
        """Reopen a lost live source. True when frames flow again, False on stop or give-up."""
        lost_at = time.monotonic()
        self.capture.release()
        self.stats.source_state = "reconnecting"
        for delay in backoff_delays(self.cfg.reconnect_initial_s, self.cfg.reconnect_max_s):
            if self.stop.wait(delay):
                return False
            outage = time.monotonic() - lost_at
            if self.cfg.give_up_after_s and outage >= self.cfg.give_up_after_s:
                self.error = (
                    f"{self.spec} lost for {outage:.0f} s; gave up (source.give_up_after_s = {self.cfg.give_up_after_s:g})"
                )
                self.stop.set()
                return False
            try:
                capture, _info, first = open_source(self.spec, self.cfg)
            except VidclfError:
                continue
            self.capture = capture
            self.stats.reconnects += 1
            self.stats.source_state = "streaming"
            self.out.put(StreamReset(self.stats.reconnects, "reconnected"), force=True)
            return self._emit(first)
        return False
