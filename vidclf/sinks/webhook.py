"""POST every label change as JSON to an HTTP(S) URL, without ever blocking the pipeline.

Events go into a bounded queue that a sender thread empties: each POST has a timeout and a
bounded number of retries with backoff; when the receiver is slower than the events, the
oldest waiting events are dropped and counted. On close the sender gets a short grace
period to deliver what is queued. (urllib is enough for a JSON POST; requests would add a
dependency for nothing.)

Usage::

    sink = WebhookSink("http://127.0.0.1:8000/hook", timeout_s=2, retries=3)
    sink.on_segment(event)      # returns at once
    sink.close()                # delivers what is left (bounded), then stops
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from vidclf import __version__
from vidclf.errors import VidclfError
from vidclf.redact import redact
from vidclf.sinks.events import SegmentEvent, Sink
from vidclf.streaming.frame_queue import FrameQueue

log = logging.getLogger("vidclf")

QUEUE_SIZE = 256
BACKOFF_S = 0.2
CLOSE_GRACE_S = 5.0


def check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise VidclfError(f"events.webhook must be an http(s):// URL, got {redact(url)[:60]!r}")
    return url


class WebhookSink(Sink):
    def __init__(self, url: str, timeout_s: float = 2.0, retries: int = 3):
        self.url = check_url(url)
        self.timeout_s, self.retries = timeout_s, retries
        self.sent = 0
        self.failed = 0  # events given up on after every retry
        self._queue = FrameQueue(QUEUE_SIZE, drop_oldest=True)
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._send_loop, name="webhook", daemon=True)
        self._thread.start()

    @property
    def dropped(self) -> int:
        """Events that never got a turn: the queue was full."""
        return self._queue.dropped

    def on_segment(self, event: SegmentEvent) -> None:
        self._queue.put(event.as_dict())

    def _post(self, body: bytes) -> None:
        request = urllib.request.Request(
            self.url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "User-Agent": f"vidclf/{__version__}"},
        )
        with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
            response.read()

    def _deliver(self, payload: dict) -> None:
        body = json.dumps(payload).encode()
        for attempt in range(self.retries + 1):
            try:
                self._post(body)
                self.sent += 1
                return
            except (urllib.error.URLError, OSError, ValueError) as exc:
                if attempt == self.retries or self._closing.is_set() and attempt > 0:
                    self.failed += 1
                    log.warning("webhook %s: event dropped after %d attempts (%s)", redact(self.url), attempt + 1, exc)
                    return
                time.sleep(BACKOFF_S * 2**attempt)

    def _send_loop(self) -> None:
        while True:
            try:
                payload = self._queue.get(timeout=0.1)
            except queue.Empty:
                if self._closing.is_set():
                    return
                continue
            self._deliver(payload)

    def close(self) -> None:
        self._closing.set()
        self._thread.join(CLOSE_GRACE_S)
        left = len(self._queue)
        if left or self.dropped or self.failed:
            log.warning(
                "webhook %s: %d events sent, %d failed, %d dropped (queue full), %d not sent at exit",
                redact(self.url),
                self.sent,
                self.failed,
                self.dropped,
                left,
            )
