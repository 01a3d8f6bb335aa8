"""The optional on-screen window, and whether a display is there to open one.

Usage::

    if display_available():
        window = Window("vidclf", max_width=1280)
        window.show(annotated)
        if window.quit_requested(): ...
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
import threading
from pathlib import Path

import cv2
import imutils
import numpy as np


def display_available() -> bool:
    """True when a display really answers (OpenCV windows need one).

    Windows and macOS have a native one. Elsewhere ``$DISPLAY`` alone proves nothing: a
    stale value (an SSH session that ended, an Xvfb that was stopped) makes OpenCV's Qt
    backend abort the whole process when the window opens, so the X server is asked first.
    """
    if sys.platform in ("win32", "darwin"):
        return True
    display = os.environ.get("DISPLAY")
    if display:
        return _x_display_answers(display)
    wayland = os.environ.get("WAYLAND_DISPLAY")
    if wayland:
        socket_path = Path(wayland) if wayland.startswith("/") else Path(os.environ.get("XDG_RUNTIME_DIR", "/")) / wayland
        return socket_path.is_socket()
    return False


def _libxcb() -> ctypes.CDLL | None:
    """libxcb, the library OpenCV's Qt uses to reach X: the system's or the copy in OpenCV's wheel."""
    candidates = [ctypes.util.find_library("xcb")]
    candidates += sorted(str(p) for p in (Path(cv2.__file__).parent.parent / "opencv_python.libs").glob("libxcb-[0-9a-f]*.so*"))
    for name in candidates:
        if not name:
            continue
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        lib.xcb_connect.restype = ctypes.c_void_p
        lib.xcb_connect.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_int)]
        lib.xcb_connection_has_error.argtypes = [ctypes.c_void_p]
        lib.xcb_disconnect.argtypes = [ctypes.c_void_p]
        return lib
    return None


def _x_display_answers(display: str, timeout_s: float = 2.0) -> bool:
    """Connect to the X server at ``display`` the way Qt will (xcb, with authentication)."""
    lib = _libxcb()
    if lib is None:
        return True  # cannot ask; let OpenCV try as before
    answer: list[bool] = []

    def probe() -> None:
        conn = lib.xcb_connect(display.encode(), None)
        answer.append(bool(conn) and lib.xcb_connection_has_error(conn) == 0)
        if conn:
            lib.xcb_disconnect(conn)

    # a remote host that never answers would block in connect(); the probe gets a deadline
    thread = threading.Thread(target=probe, name="display-probe", daemon=True)
    thread.start()
    thread.join(timeout_s)
    return bool(answer and answer[0])


class Window:
    """An OpenCV window; ``q`` or Esc, or closing the window, asks the pipeline to quit.

    OpenCV's GUI backends must be driven from one thread: the orchestrator's main thread
    shows it (:class:`~vidclf.sinks.mosaic.Mosaic`).
    """

    def __init__(self, name: str, max_width: int = 1280):
        self.name = name
        self.max_width = max_width
        self._quit = False
        cv2.namedWindow(name, cv2.WINDOW_AUTOSIZE)

    def show(self, image: np.ndarray) -> None:
        if image.shape[1] > self.max_width:  # a 4K camera should not open a 4K window
            image = imutils.resize(image, width=self.max_width)
        cv2.imshow(self.name, image)
        self.show_key(cv2.waitKey(1) & 0xFF)

    def show_idle(self) -> None:
        """Pump GUI events without a new frame (waiting for the stream)."""
        self.show_key(cv2.waitKey(1) & 0xFF)

    def show_key(self, key: int) -> None:
        if key in (ord("q"), ord("Q"), 27):
            self._quit = True
        elif cv2.getWindowProperty(self.name, cv2.WND_PROP_VISIBLE) < 1:
            self._quit = True

    def quit_requested(self) -> bool:
        return self._quit

    def close(self) -> None:
        cv2.destroyWindow(self.name)
        cv2.waitKey(1)
