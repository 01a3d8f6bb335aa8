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
        self._items: collections.deque[Any] = collections.deque()
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
        reset): they are appended at once even when the queue is full, and push nothing out,
        so neither they nor a frame can be lost. The queue then holds at most ``maxsize``
        frames plus those few control messages.
        """
        with self._cond:
            if force:
                pass
            elif self.drop_oldest:
                if len(self._items) >= self.maxsize:
                    self._items.popleft()
                    self.dropped += 1
            else:
                while len(self._items) >= self.maxsize:
                    if stop is not None and stop.is_set():
                        return False
                    self._cond.wait(0.1)
            self._items.append(item)
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
            item = self._items.popleft()
            self._cond.notify_all()
            return item
