"""Read a video file decoding only its reference frames (``source.decode_frames: reference``).

Most encoded video (x264 / x265 at their default settings) carries B-frames that no other frame is
predicted from. FFmpeg can skip decoding them (``skip_frame = NONREF``), which an archive run that
classifies a few frames a second can afford: on the shared clips with B-frames it decodes about
half of the frames, at 0.3-0.8x the decoding CPU (`bench/bench_decode.py`). Files without B-frames
(baseline profile: many phones and cameras) decode every frame either way.

Only H.264 and H.265 in MP4 / MOV, Matroska or MPEG-TS are read this way: the reader relies on
every packet's presentation time, which those carry. AVI has none (FFmpeg makes them up, and
MPEG-4 Part 2's packed B-frames come out of order: measured on the training clips, the times of
six AVI files were off by seconds), so other files are refused here and decoded in full.

The reader keeps **one frame per frame of the file**: a frame that was not decoded comes out as
the last decoded picture again, with its own timestamp, so frame counts, timestamps and result
rows are those of a full decode. A repeated picture is the same array, never a copy; change
gating sees no change in it and does not classify it again.

It stands in for :class:`cv2.VideoCapture` (``read``, ``get``, ``set`` to rewind, ``release``)
so the frame grabber runs it unchanged. PyAV is already what recordings are written with.

Usage::

    capture = ReferenceFramesCapture("match.mp4")
    ok, image = capture.read()              # BGR uint8, like cv2.VideoCapture.read
    capture.get(cv2.CAP_PROP_POS_MSEC)      # the frame's time on the file's timeline
    capture.repeated                        # True when that picture was not decoded
"""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction

import av
import cv2
import numpy as np

from vidclf.errors import VidclfError

CODECS = ("h264", "hevc")
CONTAINERS = ("mov", "mp4", "matroska", "webm", "mpegts")  # names in FFmpeg's format lists


class ReferenceFramesCapture:
    """A video file's frames with only the reference frames decoded (see the module doc)."""

    def __init__(self, path: str, threads: int = 1):
        self.path, self.threads = path, threads
        self.repeated = False  # whether the picture the last read gave was not decoded
        self.decoded = 0  # pictures decoded so far (a rewind does not reset it)
        try:
            self._timestamps, self._time_base, self._rate = _presentation_times(path)
            self._open()
        except (av.FFmpegError, OSError, IndexError) as exc:
            raise VidclfError(f"cannot read {path} with PyAV: {exc}") from None
        codec, formats = self._stream.codec_context.name, self._container.format.name
        if codec not in CODECS or not set(formats.split(",")) & set(CONTAINERS):
            self.release()
            raise VidclfError(
                f"{path}: reference-frame decoding reads H.264 / H.265 in MP4, MOV, MKV or MPEG-TS, not {codec} in {formats}"
            )
        if not self._timestamps:
            self.release()
            raise VidclfError(f"cannot read {path} with PyAV: no video packet has a timestamp")
        self._start = self._timestamps[0]
        self._position_s = 0.0

    def _open(self) -> None:
        self._container = av.open(self.path)
        stream = self._container.streams.video[0]
        stream.codec_context.skip_frame = "NONREF"
        stream.codec_context.thread_count = self.threads  # 0: FFmpeg's own count
        self._stream, self._size = stream, (stream.codec_context.width, stream.codec_context.height)
        self._frames = self._pictures()
        self._shown: av.VideoFrame | None = None  # the decoded frame behind the last picture read
        self._image: np.ndarray | None = None

    def _pictures(self) -> Iterator[tuple[int, av.VideoFrame, bool]]:
        """(pts, decoded frame, repeated) of every frame in presentation order. The decoder hands
        out the decoded frames in presentation order; the timestamps of all packets (read once up
        front, by demuxing alone) say which frames lie between two of them."""
        times, i, last = self._timestamps, 0, None
        for frame in self._container.decode(self._stream):
            self.decoded += 1
            pts = frame.pts if frame.pts is not None else (times[i] if i < len(times) else None)
            while i < len(times) and pts is not None and times[i] < pts:
                # not decoded: the picture before it (or, before the first decoded one, that one)
                yield times[i], last if last is not None else frame, True
                i += 1
            if i < len(times) and times[i] == pts:
                i += 1
            last = frame
            yield pts if pts is not None else times[-1], frame, False
        while last is not None and i < len(times):  # non-reference frames at the very end
            yield times[i], last, True
            i += 1

    def read(self) -> tuple[bool, np.ndarray | None]:
        try:
            pts, frame, self.repeated = next(self._frames)
        except (StopIteration, av.FFmpegError):  # the end, or a corrupt stretch ends it like OpenCV does
            return False, None
        self._position_s = float((pts - self._start) * self._time_base)
        if frame is not self._shown:  # a repeat is the same array again, converted once
            self._shown, self._image = frame, frame.to_ndarray(format="bgr24")
        return True, self._image

    def decoded_flags(self) -> list[bool]:
        """For every frame from here to the end, whether it is decoded (True) or a repeat; the
        decoding is done, the conversion to BGR is not (evaluation replays need only this)."""
        flags = []
        try:
            flags.extend(not repeated for _, _, repeated in self._frames)
        except av.FFmpegError:  # a corrupt stretch ends the file, as in read()
            pass
        return flags

    def get(self, prop: int) -> float:
        if prop == cv2.CAP_PROP_POS_MSEC:
            return self._position_s * 1000.0
        if prop == cv2.CAP_PROP_FPS:
            return float(self._rate or 0.0)
        if prop == cv2.CAP_PROP_FRAME_COUNT:
            return float(len(self._timestamps))
        if prop == cv2.CAP_PROP_FRAME_WIDTH:
            return float(self._size[0])
        if prop == cv2.CAP_PROP_FRAME_HEIGHT:
            return float(self._size[1])
        return 0.0

    def set(self, prop: int, value: float) -> bool:
        """A rewind to the first frame (``CAP_PROP_POS_FRAMES``, 0), which ``--loop`` needs, or
        the decoding threads (``CAP_PROP_N_THREADS``; 0: FFmpeg's own count), which also rewinds.
        Reopening reuses the packets' times: the file is not demuxed again."""
        if prop == cv2.CAP_PROP_N_THREADS and value >= 0:
            self.threads = int(value)
        elif prop != cv2.CAP_PROP_POS_FRAMES or value != 0:
            return False
        self._container.close()
        self._open()
        return True

    def isOpened(self) -> bool:  # noqa: N802  cv2.VideoCapture's name
        return self._container is not None

    def release(self) -> None:
        if getattr(self, "_container", None) is not None:
            self._container.close()
            self._container = None


def _presentation_times(path: str) -> tuple[list[int], Fraction, Fraction | None]:
    """Sorted pts of the video packets (demuxing only: no decoding, milliseconds for a clip),
    the stream's time base and its average frame rate."""
    with av.open(path) as container:
        stream = container.streams.video[0]
        times = sorted(p.pts for p in container.demux(stream) if p.pts is not None and p.size)
        return times, stream.time_base, stream.average_rate or stream.guessed_rate
