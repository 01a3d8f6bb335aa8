"""Record the annotated stream to a video file that stays playable after any shutdown.

The writer opens on the first frame (its size is only known then) and is released in
``close()``, which the renderer calls from a ``finally`` block: q, Ctrl-C, SIGTERM and end of
stream all lead there. ``.avi`` uses MJPG (robust, every player). ``.mp4`` is H.264 (what
browsers play) through PyAV's FFmpeg and libx264 when PyAV is installed, else mp4v through
OpenCV, whose wheels carry no H.264 encoder (browsers refuse mp4v; a warning says so).

OpenCV's writer never reports a failed write (it logs a warning and carries on), so the
recorder checks for itself: while recording, that the file system still has room and the
file is below the process's file-size limit; after closing, that the file on disk holds
every frame it was given (read back from the container's index). A failure raises
:class:`~vidclf.errors.VidclfError` naming the frames the file really holds, and ``frames``
becomes that number.

A source that comes back at another resolution after a reconnect is letterboxed into the
recording's size (aspect kept, never stretched) and counted in ``resized_frames``.

Usage::

    with Recorder("out.avi", fps=30.0) as rec:
        rec.write(annotated_bgr)
"""

from __future__ import annotations

import logging
import os
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from vidclf.core.metrics import PipelineStats
from vidclf.core.records import FrameResult
from vidclf.errors import VidclfError
from vidclf.runtime.preprocess import shrink
from vidclf.sinks.events import Sink

try:
    import resource  # POSIX only: the process's file-size limit (ulimit -f)
except ImportError:  # pragma: no cover - Windows
    resource = None

log = logging.getLogger("vidclf")

CODECS = {".avi": "MJPG", ".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v", ".mkv": "MJPG"}
H264_SUFFIXES = (".mp4", ".m4v", ".mov")  # H.264 when PyAV can encode it
# x264: "veryfast" costs ~1/3 of "medium"'s CPU for a slightly larger file; CRF 23 is its default quality
H264_OPTIONS = {"preset": "veryfast", "crf": "23"}
SPACE_CHECK_EVERY = 30  # frames between two checks of the disk (one statvfs + one stat)
MIN_FREE_BYTES = 256 * 1024  # less than this left on the disk: the writer's next flush fails


def count_frames_in_file(path: str | Path) -> int:
    """Frames a player can read from ``path``: the container's index (read here, see
    :func:`indexed_frames`), else OpenCV's count, or demuxed one by one when the index is
    missing (a file cut short by a full disk)."""
    indexed = indexed_frames(path)
    if indexed is not None:
        return indexed
    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            return 0
        count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        if count > 0:
            return count
        while capture.grab():
            count += 1
        return count
    finally:
        capture.release()


def indexed_frames(path: str | Path) -> int | None:
    """The frame count of a finished recording from its own index, without OpenCV: an MP4/MOV
    video track's sample table (``stsz``), or an AVI's ``idx1`` (one 16-byte entry a frame of
    its single video stream). Both are written last, when the file is finalised, so a file cut
    short has none: None then (and for Matroska or OpenDML AVI), and the caller decodes.

    Why not ``cv2.VideoCapture``: opening a file takes FFmpeg's one process-wide lock, which a
    live camera's open or reconnect may hold for seconds; finalising a recording at a stop
    must not wait for that. Only the top-level headers and the index are read (seeks, not
    the whole file)."""
    try:
        with open(path, "rb") as f:
            head = f.read(12)
            if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
                return _avi_index_frames(f)
            if head[4:8] == b"ftyp":
                return _mp4_video_samples(f)
    except (OSError, ValueError):
        pass
    return None


def _chunks(f, start: int, end: int, big_endian: bool):
    """(type, payload start, payload end) of the RIFF chunks / ISO-BMFF boxes in [start, end)."""
    order = "big" if big_endian else "little"
    while start + 8 <= end:
        f.seek(start)
        head = f.read(16)
        if len(head) < 8:
            return
        if big_endian:
            size, kind, skip = int.from_bytes(head[:4], order), head[4:8], 8
            if size == 1 and len(head) == 16:
                size, skip = int.from_bytes(head[8:16], order), 16
            elif size == 0:
                size = end - start
        else:
            kind, size, skip = head[:4], int.from_bytes(head[4:8], order) + 8, 8
            size += size % 2  # RIFF chunks are padded to an even length
        if size < skip or start + size > end + 1:
            return
        yield kind, start + skip, min(start + size, end)
        start += size


def _avi_index_frames(f) -> int | None:
    end = f.seek(0, 2)
    chunks = list(_chunks(f, 12, end, big_endian=False))
    if any(kind == b"RIFF" for kind, _, _ in chunks):  # OpenDML (AVIX): idx1 covers only the first part
        return None
    for kind, a, b in chunks:
        if kind == b"idx1":
            f.seek(a)
            entries = f.read(b - a)
            if len(entries) != b - a or len(entries) % 16:
                return None
            return sum(entries[i + 2 : i + 4] in (b"dc", b"db") for i in range(0, len(entries), 16))
    return None


def _mp4_video_samples(f) -> int | None:
    end = f.seek(0, 2)

    def child(kind: bytes, a: int, b: int) -> tuple[int, int] | None:
        return next(((x, y) for k, x, y in _chunks(f, a, b, big_endian=True) if k == kind), None)

    moov = child(b"moov", 0, end)
    if moov is None:
        return None
    for kind, a, b in list(_chunks(f, *moov, big_endian=True)):
        minf = child(b"minf", *child(b"mdia", a, b) or (0, 0)) if kind == b"trak" else None
        if minf is None or child(b"vmhd", *minf) is None:
            continue  # not the video track
        stbl = child(b"stbl", *minf)
        stsz = child(b"stsz", *stbl) if stbl else None
        if stsz is None or stsz[1] - stsz[0] < 12:
            return None
        f.seek(stsz[0] + 8)  # version and flags, sample size, then the sample count
        return int.from_bytes(f.read(4), "big")
    return None


def letterbox(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Fit ``image`` into ``size`` (w, h) with its aspect kept, padding with black."""
    w, h = size
    ih, iw = image.shape[:2]
    scale = min(w / iw, h / ih)
    nw, nh = max(1, round(iw * scale)), max(1, round(ih * scale))
    canvas = np.zeros((h, w, 3), image.dtype)
    x, y = (w - nw) // 2, (h - nh) // 2
    canvas[y : y + nh, x : x + nw] = shrink(image, nw, nh)  # anti-aliased when shrinking, bilinear when enlarging
    return canvas


def h264_available() -> bool:
    """Whether PyAV is installed with an H.264 encoder (its wheels carry libx264)."""
    try:
        import av
    except ImportError:
        return False
    return "libx264" in av.codecs_available


class H264Writer:
    """An ``.mp4`` of H.264 frames (yuv420p, what browsers play) written through PyAV, with
    the one method of OpenCV's writer the recorder uses besides ``release``."""

    def __init__(self, path: Path, fps: float, size: tuple[int, int]):
        import av

        self._av = av
        w, h = size
        self.size = (w + w % 2, h + h % 2)  # 4:2:0 chroma needs even sides: one black column/row at most
        rate = Fraction(fps).limit_denominator(1001)
        try:
            self._container = av.open(str(path), "w", options={"movflags": "+faststart"})
        except av.error.FFmpegError as exc:
            raise OSError(str(exc)) from None
        self._stream = self._container.add_stream("libx264", rate=rate, options=dict(H264_OPTIONS))
        self._stream.width, self._stream.height = self.size
        self._stream.pix_fmt = "yuv420p"
        self._stream.codec_context.time_base = 1 / rate
        self._next_pts = 0

    def write(self, image: np.ndarray) -> None:
        h, w = image.shape[:2]
        if (w, h) != self.size:
            image = cv2.copyMakeBorder(image, 0, self.size[1] - h, 0, self.size[0] - w, cv2.BORDER_CONSTANT)
        frame = self._av.VideoFrame.from_ndarray(image, format="bgr24")
        frame.pts = self._next_pts
        self._next_pts += 1
        self._mux(self._stream.encode(frame))

    def _mux(self, packets) -> None:
        try:
            self._container.mux(packets)
        except self._av.error.FFmpegError as exc:
            raise OSError(str(exc)) from None

    def release(self) -> None:
        try:
            self._mux(self._stream.encode())  # the frames x264 still holds
        finally:
            try:
                self._container.close()  # the index (moov), moved to the front for streaming
            except self._av.error.FFmpegError as exc:
                raise OSError(str(exc)) from None


class Recorder:
    def __init__(self, path: str | Path, fps: float | None):
        """``fps=None``: the caller sets ``fps`` before the first ``write`` (once it is measured)."""
        self.path = Path(path)
        suffix = self.path.suffix.lower()
        if suffix not in CODECS:
            raise VidclfError(f"unsupported recording format {suffix or '(none)'}: use {', '.join(CODECS)}")
        self.fourcc = CODECS[suffix]
        self.codec = "h264" if suffix in H264_SUFFIXES and h264_available() else self.fourcc
        self.fps = fps
        self.frames = 0
        self.failed = False  # after a write failure nothing more is written (the file is kept)
        self.resized_frames = 0  # frames letterboxed because the source changed resolution
        self._writer: cv2.VideoWriter | None = None
        self._size: tuple[int, int] | None = None

    def write(self, image: np.ndarray) -> None:
        if self.failed:
            return
        h, w = image.shape[:2]
        if self._writer is None:
            if not self.fps:
                raise ValueError("Recorder.fps must be set before the first frame")
            self._writer = self._open_writer(w, h)
            self._size = (w, h)
        elif (w, h) != self._size:  # a reconnected stream may change resolution; keep the file valid
            self.resized_frames += 1
            image = letterbox(image, self._size)
        try:
            self._writer.write(image)
        except OSError as exc:  # PyAV reports a failed write (OpenCV's writer never does)
            self._fail(exc.strerror or str(exc))
        self.frames += 1
        if self.frames % SPACE_CHECK_EVERY == 0:
            self._check_room()

    def _open_writer(self, w: int, h: int):
        if self.codec == "h264":
            try:
                return H264Writer(self.path, self.fps, (w, h))
            except OSError as exc:
                raise VidclfError(f"cannot record to {self.path}: {exc.strerror or exc}") from None
        if self.path.suffix.lower() in H264_SUFFIXES:
            log.warning("recording %s as mp4v: browsers will not play it (pip install av for H.264)", self.path.name)
        writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*self.fourcc), self.fps, (w, h))
        if not writer.isOpened():
            raise VidclfError(f"cannot record to {self.path}: OpenCV could not open a {self.fourcc} writer")
        return writer

    def _fail(self, reason: str) -> None:
        self.close(verify=False)
        self.failed = True
        self.frames = count_frames_in_file(self.path)  # from now on: what the file really holds
        raise VidclfError(f"cannot write recording {self.path}: {reason}; it holds {self.frames} frames")

    def _check_room(self) -> None:
        """Fail while recording, not hours later, when the disk or the file-size limit is reached."""
        try:
            disk = os.statvfs(self.path.parent if str(self.path.parent) else ".")
            size = os.stat(self.path).st_size
        except OSError as exc:
            self._fail(exc.strerror or str(exc))
        if disk.f_bavail * disk.f_frsize < MIN_FREE_BYTES:
            self._fail("no space left on the device")
        limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0] if resource else -1
        if limit >= 0 and limit != getattr(resource, "RLIM_INFINITY", -1) and size >= limit:
            self._fail(f"file size limit reached ({limit} bytes)")

    def close(self, verify: bool = True) -> None:
        """Finalise the file; with ``verify``, check it holds every frame written."""
        if self._writer is None:
            return
        writer, self._writer = self._writer, None
        try:
            writer.release()
        except OSError as exc:  # the last packets or the index did not fit on the disk
            self.failed = True
            self.frames = count_frames_in_file(self.path)
            reason = exc.strerror or exc
            raise VidclfError(f"cannot write recording {self.path}: {reason}; it holds {self.frames} frames") from None
        if verify:
            in_file = count_frames_in_file(self.path)
            if in_file != self.frames:
                written, self.frames, self.failed = self.frames, in_file, True
                raise VidclfError(
                    f"cannot write recording {self.path}: the file holds {in_file} of {written} frames (disk full or I/O error?)"
                )

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


FPS_PROBE_FRAMES = 30  # frames buffered to measure a live source's rate when it reports none


class RecordingSink(Sink):
    """The recording as a sink: every annotated frame into a :class:`Recorder`. A source that
    reports no frame rate is measured over its first :data:`FPS_PROBE_FRAMES` frames first
    (their capture times), so the file plays at the speed it was captured."""

    output_name = "recording"
    wants_image = True

    def __init__(self, path: str | Path, fps: float | None, stats: PipelineStats | None = None):
        self.recorder = Recorder(path, fps)
        self.stats = stats  # the dashboard's "recorded" count
        self._probe: list[tuple[float, np.ndarray]] = []  # (stream time, annotated image)

    def on_frame(self, result: FrameResult) -> None:
        if self.recorder.fps:
            self.recorder.write(result.image)
            self._count()
            return
        self._probe.append((result.time_s, result.image))
        if len(self._probe) >= FPS_PROBE_FRAMES:
            self._flush_probe()

    def _flush_probe(self) -> None:
        if not self._probe:
            return
        span = self._probe[-1][0] - self._probe[0][0]
        self.recorder.fps = (len(self._probe) - 1) / span if span > 0 and len(self._probe) > 1 else 30.0
        for _t, image in self._probe:
            self.recorder.write(image)
        self._probe.clear()
        self._count()

    def _count(self) -> None:
        if self.stats is not None:
            self.stats.frames_written = self.recorder.frames

    def close(self) -> None:
        try:
            self._flush_probe()
        finally:
            self.recorder.close()
            self._count()
