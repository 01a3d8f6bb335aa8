"""Record the annotated stream to a video file that stays playable after any shutdown.

The writer opens on the first frame (its size is only known then) and is released in
``close()``, which the renderer calls from a ``finally`` block: q, Ctrl-C, SIGTERM and end of
stream all lead there. ``.avi`` uses MJPG (robust, every player), ``.mp4`` uses mp4v.

Usage::

    check_writable("out.avi")                 # fail before the pipeline starts
    with Recorder("out.avi", fps=30.0) as rec:
        rec.write(annotated_bgr)
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from vidclf.errors import VidclfError

CODECS = {".avi": "MJPG", ".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v", ".mkv": "MJPG"}


def check_writable(path: str | Path, what: str = "output") -> Path:
    """Raise :class:`VidclfError` unless ``path`` can be created (folder exists and is writable)."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise VidclfError(f"{what} path is a folder: {path}")
    if not folder.is_dir():
        raise VidclfError(f"cannot write {what} {path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise VidclfError(f"cannot write {what} {path}: permission denied")
    existed = path.exists()
    try:  # permissions are not the whole story (read-only mounts, /proc, /sys): really try
        with path.open("ab"):
            pass
    except OSError as exc:
        raise VidclfError(f"cannot write {what} {path}: {exc.strerror}") from None
    if not existed:
        path.unlink()
    return path


class Recorder:
    def __init__(self, path: str | Path, fps: float | None):
        """``fps=None``: the caller sets ``fps`` before the first ``write`` (once it is measured)."""
        self.path = Path(path)
        suffix = self.path.suffix.lower()
        if suffix not in CODECS:
            raise VidclfError(f"unsupported recording format {suffix or '(none)'}: use {', '.join(CODECS)}")
        self.fourcc = CODECS[suffix]
        self.fps = fps
        self.frames = 0
        self._writer: cv2.VideoWriter | None = None
        self._size: tuple[int, int] | None = None

    def write(self, image: np.ndarray) -> None:
        h, w = image.shape[:2]
        if self._writer is None:
            if not self.fps:
                raise ValueError("Recorder.fps must be set before the first frame")
            self._writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*self.fourcc), self.fps, (w, h))
            if not self._writer.isOpened():
                self._writer = None
                raise VidclfError(f"cannot record to {self.path}: OpenCV could not open a {self.fourcc} writer")
            self._size = (w, h)
        elif (w, h) != self._size:  # a reconnected stream may change resolution; keep the file valid
            image = cv2.resize(image, self._size)
        self._writer.write(image)
        self.frames += 1

    def close(self) -> None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
