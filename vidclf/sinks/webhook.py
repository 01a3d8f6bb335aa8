"""POST every label change as JSON to an HTTP(S) URL, without ever blocking the pipeline.

Events go into a bounded queue that a sender thread empties: each POST has a timeout and a
bounded number of retries with backoff; when the receiver is slower than the events, the
oldest waiting events are dropped and counted. On close the sender gets a short grace
period to deliver what is queued. (urllib is enough for a JSON POST; requests would add a
dependency for nothing.)

A receiver is a peer the run does not trust: only a 2xx answer counts as delivered (a redirect
is not followed: it would turn the POST into a bodiless GET), at most :data:`MAX_BODY_BYTES` of
its answer are read, and whatever it does (garbage instead of HTTP, a reset, an endless body)
is a failed attempt of that event, never the end of the sender thread.

Usage::

    sink = WebhookSink("http://127.0.0.1:8000/hook", timeout_s=2, retries=3)
    sink.on_segment(event)      # returns at once
    sink.close()                # delivers what is left (bounded), then stops
"""

from __future__ import annotations

import base64
import json
import logging
import queue
import threading
import time
import urllib.error
import urllib.request
from urllib.parse import unquote, urlsplit, urlunsplit

from vidclf import __version__
from vidclf.core.frame_queue import FrameQueue
from vidclf.core.records import SegmentEvent
from vidclf.errors import VidclfError
from vidclf.redact import redact
from vidclf.sinks.events import Sink

log = logging.getLogger("vidclf")

QUEUE_SIZE = 256
BACKOFF_S = 0.2
CLOSE_GRACE_S = 5.0
MAX_BODY_BYTES = 4096  # of a receiver's answer: enough for an error message, never a memory bomb


def check_url(url: str) -> str:
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018  raises on a port that is not a number (urllib's text would show the password)
    except ValueError:
        raise VidclfError(f"events.webhook has a bad port: {redact(url)[:80]!r}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise VidclfError(f"events.webhook must be an http(s):// URL, got {redact(url)[:60]!r}")
    return url


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # the 3xx answer becomes an HTTPError: a failed delivery, not a silent GET


_OPENER = urllib.request.build_opener(_NoRedirects)


def split_credentials(url: str) -> tuple[str, dict[str, str]]:
    """``http://user:pw@host/x`` -> (``http://host/x``, an HTTP Basic ``Authorization``
    header): urllib would take ``pw@host`` for a port and put the password in its error."""
    parts = urlsplit(url)
    if parts.username is None:
        return url, {}
    host = parts.hostname or ""
    netloc = (f"[{host}]" if ":" in host else host) + (f":{parts.port}" if parts.port else "")
    token = base64.b64encode(f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()).decode()
    return urlunsplit(parts._replace(netloc=netloc)), {"Authorization": f"Basic {token}"}


class WebhookSink(Sink):
    output_name = "webhook"

    def __init__(self, url: str, timeout_s: float = 2.0, retries: int = 3):
        self.url = check_url(url)
        self._target, self._auth = split_credentials(url)
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
            self._target,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "User-Agent": f"vidclf/{__version__}", **self._auth},
        )
        # any answer but 2xx (a 3xx too, with redirects refused) is raised by urllib as HTTPError
        with _OPENER.open(request, timeout=self.timeout_s) as response:
            response.read(MAX_BODY_BYTES)

    def _deliver(self, payload: dict) -> None:
        body = json.dumps(payload).encode()
        for attempt in range(self.retries + 1):
            try:
                self._post(body)
                self.sent += 1
                return
            except Exception as exc:  # noqa: BLE001  whatever the peer does is one failed attempt
                if attempt == self.retries or self._closing.is_set() and attempt > 0:
                    self.failed += 1
                    why = redact(f"{type(exc).__name__}: {exc}")[:200]
                    log.warning("webhook %s: event dropped after %d attempts (%s)", redact(self.url), attempt + 1, why)
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
