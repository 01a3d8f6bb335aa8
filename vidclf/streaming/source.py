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

import logging
import os
import random
import re
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import cv2

from vidclf.config import SourceConfig, shown
from vidclf.core.frame_queue import FrameQueue
from vidclf.core.messages import END_OF_STREAM, Frame, StreamReset
from vidclf.core.metrics import PipelineStats
from vidclf.core.states import SourceKind, SourceState
from vidclf.errors import VidclfError
from vidclf.redact import redact

log = logging.getLogger("vidclf")

# A live read that took this share of source.read_timeout_s or more was ended by the timeout
STALL_FRACTION = 0.9
# OpenCV's V4L2/camera backends take an int; anything past this is a typo, not a camera
MAX_WEBCAM_INDEX = 9999
# Largest frame that source.decode_threads: 0 (auto) decodes on one thread in a file (1080p)
ONE_DECODING_THREAD_MAX_PIXELS = 1920 * 1080
STREAM_SCHEMES = ("rtsp://", "rtsps://", "rtmp://", "http://", "https://", "udp://", "tcp://")


@dataclass(frozen=True)
class SourceSpec:
    kind: SourceKind
    value: str

    def __str__(self) -> str:
        """How the source is shown anywhere (screen, logs, files): credentials masked."""
        return f"webcam {self.value}" if self.kind is SourceKind.WEBCAM else redact(self.value)

    @property
    def short_name(self) -> str:
        """For narrow displays: a file's name without its folders."""
        return Path(self.value).name if self.kind is SourceKind.FILE else str(self)

    @property
    def safe_name(self) -> str:
        """A name for file paths and topics: a file's stem, a camera's host and URL path or
        index (no credentials, no query), reduced by :func:`safe_name`."""
        if self.kind is SourceKind.FILE:
            text = Path(self.value).stem
        elif self.kind is SourceKind.WEBCAM:
            text = f"webcam{self.value}"
        else:
            parts = urlsplit(self.value)
            text = f"{parts.hostname or 'stream'}{parts.path}"
        return safe_name(text)


def safe_name(text: str) -> str:
    """``text`` as one path component: letters, digits, ``.``, ``-`` and ``_`` only, never
    ``.``/``..`` (a stream called ``../x`` must not write outside its output folder)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", str(text)).strip("_.") or "stream"


@dataclass(frozen=True)
class SourceInfo:
    width: int
    height: int
    fps: float | None  # None when the source does not report a usable rate
    frame_count: int | None
    # A file, or a remote file (http(s) URL with a known length): it has an end and its own
    # timeline, every frame is classified, and the run ends with it (no reconnecting).
    finite: bool = False

    @classmethod
    def not_yet_open(cls) -> SourceInfo:
        """A live source that was down at start and is waited for: nothing known yet."""
        return cls(0, 0, None, None, False)


def waits_forever(spec: SourceSpec, cfg: SourceConfig) -> bool:
    """A live source with ``give_up_after_s = 0`` is waited for however long it is away,
    also when it is down at start (a file that cannot be opened is always an error)."""
    return spec.kind is not SourceKind.FILE and cfg.give_up_after_s == 0


def parse_source(text: str) -> SourceSpec:
    """Classify ``text`` as webcam index, stream URL or file; a missing file is an error."""
    text = str(text).strip()
    if text.isascii() and text.isdigit():  # "²" and "٣" are digits to str.isdigit, not to OpenCV
        if int(text) > MAX_WEBCAM_INDEX:
            raise VidclfError(f"webcam index {shown(text)} is too large (at most {MAX_WEBCAM_INDEX})")
        return SourceSpec(SourceKind.WEBCAM, str(int(text)))
    if text.lower().startswith(STREAM_SCHEMES):
        return SourceSpec(SourceKind.STREAM, text)
    path = Path(text)
    if not path.exists():
        raise VidclfError(f"video file not found: {redact(text)}")
    if not path.is_file():
        raise VidclfError(f"not a video file: {redact(text)}")
    return SourceSpec(SourceKind.FILE, text)


def _capture(spec: SourceSpec, cfg: SourceConfig) -> cv2.VideoCapture:
    not_by_reference = None
    if spec.kind is SourceKind.FILE and cfg.decode_frames == "reference":
        try:
            return _reference_capture(spec.value, cfg.decode_threads)
        except VidclfError as exc:  # PyAV could not read it: OpenCV tries, and says why if it cannot either
            not_by_reference = str(exc)
    capture = _opencv_capture(spec, cfg)
    if not_by_reference and capture.isOpened():
        log.warning("%s; decoding every frame instead", not_by_reference)
    return capture


def _reference_capture(path: str, decode_threads: int):
    """:class:`ReferenceFramesCapture` with the thread policy of :func:`_opencv_capture`."""
    from vidclf.streaming.reference_frames import ReferenceFramesCapture

    capture = ReferenceFramesCapture(path, decode_threads or 1)
    if _past_one_decoding_thread(capture, decode_threads):
        capture.set(cv2.CAP_PROP_N_THREADS, 0)  # before the first read: nothing decoded yet
    return capture


def _past_one_decoding_thread(capture, decode_threads: int) -> bool:
    """``source.decode_threads`` 0 (auto) and a file larger than 1080p: FFmpeg's own thread
    count then (why: :func:`_opencv_capture`)."""
    pixels = capture.get(cv2.CAP_PROP_FRAME_WIDTH) * capture.get(cv2.CAP_PROP_FRAME_HEIGHT)
    return not decode_threads and pixels > ONE_DECODING_THREAD_MAX_PIXELS


def _opencv_capture(spec: SourceSpec, cfg: SourceConfig) -> cv2.VideoCapture:
    if spec.kind is SourceKind.WEBCAM:
        return cv2.VideoCapture(int(spec.value))
    if spec.kind is SourceKind.STREAM:
        # TCP for RTSP: a dead server then shows up as a closed connection at once, instead of
        # UDP silence; the user can still choose other options through this variable.
        os.environ.setdefault("OPENCV_FFMPEG_CAPTURE_OPTIONS", "rtsp_transport;tcp")
    params = [
        cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
        int(cfg.open_timeout_s * 1000),
        cv2.CAP_PROP_READ_TIMEOUT_MSEC,
        int(cfg.read_timeout_s * 1000),
    ]
    # decode_threads 0 (auto): one thread. FFmpeg's frame threads cost 25-50 % more CPU per
    # frame (1080p 8.2 vs 6.1 ms, 480p 1.7 vs 1.2 ms, measured) and delay a live frame by a
    # frame per extra thread; one thread still decodes 1080p H.264 at ~160 frames/s, faster
    # than the model classifies. Larger files reopen with FFmpeg's own count, which a file
    # replay needs to keep up (4K: 62 vs 91 frames/s); live streams stay at one.
    capture = cv2.VideoCapture(spec.value, cv2.CAP_FFMPEG, [*params, cv2.CAP_PROP_N_THREADS, cfg.decode_threads or 1])
    if spec.kind is SourceKind.FILE and capture.isOpened() and _past_one_decoding_thread(capture, cfg.decode_threads):
        capture.release()
        capture = cv2.VideoCapture(spec.value, cv2.CAP_FFMPEG, params)
    return capture


def decoding_threads(configured: int, side_by_side: int) -> int:
    """FFmpeg decoding threads for each of ``side_by_side`` decoders in one process or pool.

    ``source.decode_threads`` set by the user (> 0) is kept. For one decoder, 0 (auto) stays
    0 and :func:`open_source` decides (one thread; FFmpeg's own count for files past 1080p).
    Several decoders already keep the cores busy, so each gets one thread whatever the size.

    >>> decoding_threads(0, 1), decoding_threads(0, 8), decoding_threads(3, 8)
    (0, 1, 3)
    """
    if configured or side_by_side <= 1:
        return configured
    return 1


def _info(spec: SourceSpec, capture: cv2.VideoCapture, first_frame) -> SourceInfo:
    fps = capture.get(cv2.CAP_PROP_FPS)
    count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    # http(s) serves both live streams (MJPEG, live HLS) and plain files; only a file knows its length
    finite = spec.kind is SourceKind.FILE or (spec.value.lower().startswith(("http://", "https://")) and count > 0)
    # A file's rate is what it says, time-lapse (0.5) and high-speed (1000) included; live
    # sources report junk often enough (0, 90000) that a rate outside 1-240 is measured instead.
    plausible = 0.0 < fps <= 10_000.0 if finite else 1.0 <= fps <= 240.0
    h, w = first_frame.shape[:2]
    return SourceInfo(w, h, fps if plausible else None, count if count > 0 else None, finite)


def rtsp_silence(url: str, timeout_s: float) -> str | None:
    """Why an RTSP server at ``url`` does not answer an ``OPTIONS`` request within
    ``timeout_s``; None when it answers.

    FFmpeg holds one process-wide lock while it opens any input, so a camera that accepts the
    connection and then never answers (frozen, overloaded) would stall every other source's
    open and reconnect, and a recording's finalising, for the whole open timeout. This probe
    runs outside that lock: only a camera that answers is handed to FFmpeg. (A camera that
    answers and then sends no media can still hold the lock; that is not caught here.)
    """
    parts = urlsplit(url)
    target = parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()  # no credentials on the wire
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 554), timeout=timeout_s) as sock:
            sock.settimeout(timeout_s)
            sock.sendall(f"OPTIONS {target} RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: vidclf\r\n\r\n".encode())
            answer = sock.recv(16)
    except TimeoutError:
        return f"the RTSP server did not answer within {timeout_s:g} s"
    except (OSError, ValueError) as exc:
        return f"unreachable ({getattr(exc, 'strerror', None) or exc})"
    return None if answer.startswith(b"RTSP/") else "the server did not answer as an RTSP server"


def open_source(spec: SourceSpec, cfg: SourceConfig) -> tuple[cv2.VideoCapture, SourceInfo, object]:
    """Open ``spec`` and read its first frame, or raise :class:`VidclfError` saying why not.

    Returns ``(capture, info, first_frame)``: reading one frame up front is what tells a
    corrupt file or a silent stream apart from a good one before any thread starts.
    """
    if spec.kind is SourceKind.STREAM and spec.value.lower().startswith("rtsp://"):
        silence = rtsp_silence(spec.value, cfg.open_timeout_s)
        if silence:
            raise VidclfError(f"cannot open stream {spec}: {silence}")
    capture = _capture(spec, cfg)
    if not capture.isOpened():
        capture.release()
        if spec.kind is SourceKind.WEBCAM:
            raise VidclfError(f"cannot open webcam {spec.value}: no such camera or it is busy")
        if spec.kind is SourceKind.STREAM:
            raise VidclfError(
                f"cannot open stream {spec}: unreachable or not a video stream (waited up to {cfg.open_timeout_s:g} s)"
            )
        raise VidclfError(f"cannot open video file {spec}: not a video or unsupported format")
    ok, frame = capture.read()
    if not ok or frame is None:
        capture.release()
        what = f"video file {spec}" if spec.kind is SourceKind.FILE else str(spec)
        raise VidclfError(f"cannot decode {what}: no frame could be read (corrupt or empty?)")
    return capture, _info(spec, capture, frame), frame


def open_source_interruptibly(spec: SourceSpec, cfg: SourceConfig, stop: threading.Event):
    """:func:`open_source` that gives up waiting as soon as ``stop`` is set.

    OpenCV's open blocks in native code for up to ``open_timeout_s`` and cannot be
    interrupted, so it runs on a helper thread while the caller watches ``stop`` (and, on
    the main thread, stays able to run signal handlers). Returns None when stopped first;
    a capture that opens after that is released by the helper.
    """
    lock = threading.Lock()
    outcome: list = []
    abandoned = False

    def attempt() -> None:
        try:
            result = ("ok", open_source(spec, cfg))
        except Exception as exc:
            result = ("error", exc)
        with lock:
            if abandoned:
                if result[0] == "ok":
                    result[1][0].release()
                return
            outcome.append(result)

    helper = threading.Thread(target=attempt, name="source-open", daemon=True)
    helper.start()
    while helper.is_alive():
        helper.join(0.05)
        if stop.is_set():
            with lock:
                if not outcome:
                    abandoned = True
                    return None
            break
    kind, value = outcome[0]
    if kind == "error":
        raise value
    return value


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
        capture: cv2.VideoCapture | None,
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
        self._last_position = 0.0
        self.error: str | None = None
        self.frames_read = 0
        self.cpu_s = 0.0

    def run(self) -> None:
        cpu_started = time.thread_time()
        try:
            self._loop()
        except Exception as exc:  # a thread must never die silently: report and stop the pipeline
            self.error = f"frame grabber failed: {type(exc).__name__}: {exc}"
            self.stop.set()
        finally:
            if self.capture is not None:
                self.capture.release()
            self.stats.source_state = SourceState.ENDED if self.error is None else SourceState.FAILED
            self.out.put(END_OF_STREAM, force=True)
            self.cpu_s = time.thread_time() - cpu_started  # reading + decoding, this thread only

    def _emit(self, image, position: float | None = None) -> bool:
        frame = Frame(self.frames_read, image, time.monotonic(), position)
        self._last_position = position or 0.0
        self.frames_read += 1
        self.stats.source_fps.tick(frame.captured_at)
        return self.out.put(frame, self.stop)

    def _position(self) -> float | None:
        """The frame just read, on the file's own timeline: the decoder's timestamp, so that
        variable-frame-rate files and loops (back to 0) are right. None for live sources."""
        return self.capture.get(cv2.CAP_PROP_POS_MSEC) / 1000.0 if self.info.finite else None

    def _loop(self) -> None:
        if self.capture is None and not self._wait_for_source(first=True):  # down at start: waited for
            return
        self.stats.source_state = SourceState.STREAMING
        paced = self.info.finite and self.cfg.realtime
        started = time.monotonic()
        played = 0.0  # file time already replayed by earlier loops
        rewound = False  # a read failing right after a rewind means the file cannot loop
        if self._pending is not None:
            self._emit(self._pending, self._position())
            self._pending = None
        while not self.stop.is_set():
            asked = time.monotonic()
            ok, image = self.capture.read()
            if not self.info.finite and time.monotonic() - asked >= STALL_FRACTION * self.cfg.read_timeout_s:
                # FFmpeg's read timeout fired. The decoder may still hand out the frames it
                # held back (one per timed-out read, ~1 per decoding thread), which would make
                # a stall take several timeouts to notice; those frames are stale anyway.
                if not self._reconnect():
                    return
                continue
            if ok and image is not None:
                rewound = False
                position = self._position()
                if paced and position is not None:  # replay at the clip's own pace, like a camera
                    delay = started + played + position - time.monotonic()
                    if delay > 0 and self.stop.wait(delay):
                        return
                if not self._emit(image, position):
                    return
                continue
            if self.info.finite:
                if self.cfg.loop and not rewound:
                    rewound = True
                    played += self._last_position + 1.0 / (self.info.fps or 30.0)
                    self.capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
                    continue
                return  # end of file
            if not self._reconnect():
                return

    def _reconnect(self) -> bool:
        """Reopen a lost live source. True when frames flow again, False on stop or give-up."""
        return self._wait_for_source(first=False)

    def _wait_for_source(self, first: bool) -> bool:
        """Open the source with backoff until it answers (``first``: it never has; else it
        was lost). True when it is open (a lost one's first frame is queued after a
        :class:`StreamReset`), False on stop or give-up."""
        lost_at = time.monotonic()
        if self.capture is not None:
            self.capture.release()
        self.stats.source_state = SourceState.WAITING if first else SourceState.RECONNECTING
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
                opened = open_source_interruptibly(self.spec, self.cfg, self.stop)
            except VidclfError:
                continue
            if opened is None:  # stopped while the source was opening
                return False
            capture, info, first_frame = opened
            self.capture = capture
            if first:  # the grabber's loop emits it, as for a source open from the start
                self.info, self._pending = info, first_frame
                log.info("%s is up", self.spec)
                return True
            self.stats.reconnects += 1
            self.stats.source_state = SourceState.STREAMING
            self.out.put(StreamReset(self.stats.reconnects, "reconnected"), force=True)
            return self._emit(first_frame)
        return False
