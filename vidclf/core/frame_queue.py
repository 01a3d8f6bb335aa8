"""A bounded queue between two pipeline threads, with a drop-oldest mode for live sources.

``queue.Queue`` can only block or refuse when full. A live camera wants the opposite: keep
the newest frame and drop the oldest, so the predictor always works on what is happening now
and latency cannot build up. File replay wants blocking, so no frame is ever lost.

Usage::

    q = FrameQueue(maxsize=4, drop_oldest=True)
    q.put(frame)                  # never blocks; q.dropped counts what was pushed out
    item = q.get(timeout=0.1)     # raises queue.Empty after the timeout
    q.ring_on_put(arrived)        # also set this threading.Event on every put (one reader of many queues)
"""

from __future__ import annotations

import collections
import queue
import threading
import time
from typing import Any


class FrameQueue:
    def __init__(self, maxsize: int, drop_oldest: bool):
        if maxsize < 1:
            raise ValueError("maxsize must be >= 1")
        self.maxsize = maxsize
        self.drop_oldest = drop_oldest
        self.dropped = 0
        # (item, is_control): control messages (put with force) are never pushed out
        self._items: collections.deque[tuple[Any, bool]] = collections.deque()
        self._frames = 0  # items that are not control messages
        self._cond = threading.Condition()
        self._doorbells: list[threading.Event] = []

    def ring_on_put(self, doorbell: threading.Event) -> None:
        """Set ``doorbell`` whenever an item is put, so one thread reading several queues can
        sleep until any of them has something instead of polling them in turn."""
        with self._cond:
            self._doorbells.append(doorbell)

    def __len__(self) -> int:
        return len(self._items)

    def put(self, item: Any, stop: threading.Event | None = None, force: bool = False) -> bool:
        """Add ``item``. Blocking mode waits for room (checking ``stop`` every 0.1 s) and
        returns False if stopped first. ``force`` is for control messages (end of stream,
        reset): they are appended at once even when the queue is full, and push nothing out;
        a frame put later pushes out the oldest *frame*, never a control message ahead of it.
        The queue holds at most ``maxsize`` frames plus those few control messages.
        """
        with self._cond:
            if force:
                pass
            elif self.drop_oldest:
                if self._frames >= self.maxsize:
                    # the oldest frame, never a control message waiting ahead of it: a reset
                    # lost here would leave the new scene averaged with the old one
                    oldest = next(i for i, (_, control) in enumerate(self._items) if not control)
                    del self._items[oldest]
                    self._frames -= 1
                    self.dropped += 1
            else:
                while self._frames >= self.maxsize:
                    if stop is not None and stop.is_set():
                        return False
                    self._cond.wait(0.1)
            self._items.append((item, force))
            if not force:
                self._frames += 1
            self._cond.notify_all()
            for doorbell in self._doorbells:
                doorbell.set()
            return True

    def get(self, timeout: float | None = None) -> Any:
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while not self._items:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise queue.Empty
                self._cond.wait(remaining)
            item, control = self._items.popleft()
            if not control:
                self._frames -= 1
            self._cond.notify_all()
            return item
