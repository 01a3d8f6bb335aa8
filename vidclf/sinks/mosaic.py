"""One window for every stream: a grid of their annotated frames (one stream: its frames as they are).

OpenCV's GUI must be driven from one thread, and each stream's renderer runs on a thread of
its own, so the renderers do not show anything themselves: each hands its newest annotated
frame to its :class:`Tile` (a sink; a reference swap under a lock, never a wait), and the
main thread composes the grid at a fixed rate and shows it. ``q``/Esc or closing the window
stops every stream. A stream that has ended keeps its last frame, marked ``ended``.

Usage::

    mosaic = Mosaic(["court1", "court2"], Window("vidclf", max_width=1280))
    sinks = [[tile] for tile in mosaic.tiles]       # one list of sinks per stream's renderer
    while streams_running():
        mosaic.show()                               # the main thread, ~25 times a second
        if mosaic.quit_requested(): stop.set()
"""

from __future__ import annotations

import math
import threading

import cv2
import numpy as np

from vidclf.core.records import FrameResult
from vidclf.sinks.events import Sink
from vidclf.sinks.record import letterbox
from vidclf.sinks.window import Window

TILE_ASPECT = 16 / 9  # cells are 16:9; other frames are letterboxed into them
_FONT = cv2.FONT_HERSHEY_SIMPLEX


class Tile(Sink):
    """One stream's place in the mosaic: keeps the newest annotated frame."""

    output_name = "window grid"

    wants_image = True  # the renderer draws the overlay for this stream

    def __init__(self, name: str):
        self.name = name
        self.ended = False
        self._image: np.ndarray | None = None
        self._lock = threading.Lock()

    def on_frame(self, result: FrameResult) -> None:
        with self._lock:  # the renderer's copy is fresh per frame: keeping a reference is enough
            self._image = result.image

    def close(self) -> None:
        self.ended = True

    def latest(self) -> np.ndarray | None:
        with self._lock:
            return self._image


def grid_shape(count: int) -> tuple[int, int]:
    """(rows, columns) of the most nearly square grid that holds ``count`` tiles, wider than tall."""
    columns = math.ceil(math.sqrt(count))
    return math.ceil(count / columns), columns


class Mosaic:
    """The grid of every stream's newest frame, shown in one :class:`~vidclf.sinks.window.Window`."""

    def __init__(self, names: list[str], window: Window):
        self.tiles = [Tile(name) for name in names]
        self.window = window
        self.rows, self.columns = grid_shape(len(names))
        self.tile_width = max(160, window.max_width // self.columns)
        self.tile_height = round(self.tile_width / TILE_ASPECT)
        self._shown: np.ndarray | None = None  # the frame last shown (one stream)

    def compose(self) -> np.ndarray:
        """The grid as one BGR image (tiles in the order of the streams, row by row)."""
        tw, th = self.tile_width, self.tile_height
        grid = np.zeros((self.rows * th, self.columns * tw, 3), np.uint8)
        for i, tile in enumerate(self.tiles):
            row, column = divmod(i, self.columns)
            image = tile.latest()
            cell = letterbox(image, (tw, th)) if image is not None else np.zeros((th, tw, 3), np.uint8)
            caption = tile.name + (" (ended)" if tile.ended else "" if image is not None else " (waiting)")
            cv2.putText(cell, caption, (8, th - 10), _FONT, 0.5, (255, 255, 0), 1, cv2.LINE_AA)
            grid[row * th : (row + 1) * th, column * tw : (column + 1) * tw] = cell
        return grid

    def show(self) -> None:
        """Show the grid; one stream is shown as it is (no grid, no caption), and only when
        it has a new frame (the window still answers keys in between)."""
        if len(self.tiles) > 1:
            self.window.show(self.compose())
            return
        image = self.tiles[0].latest()
        if image is None or image is self._shown:
            self.window.show_idle()
        else:
            self.window.show(image)
            self._shown = image

    def quit_requested(self) -> bool:
        return self.window.quit_requested()

    def close(self) -> None:
        self.window.close()
