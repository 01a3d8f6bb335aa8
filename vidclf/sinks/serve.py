"""The browser view: ``--serve 127.0.0.1:8080`` serves the annotated stream and its state.

Routes (each needs ``?token=...`` when a token is set):

* ``/``             the page: live picture, label + top-k, FPS / latency, a timeline of segments
* ``/stream.mjpg``  the annotated stream as MJPEG (``multipart/x-mixed-replace``)
* ``/snapshot.jpg`` the newest annotated frame
* ``/status.json``  label, confidence, top-k, frames, FPS, latency, and the shown labels'
                    segments of the last ``TIMELINE_WINDOW_S`` on the stream's clock (for programs)

One :class:`BrowserView` serves every stream of a run: one stream has these routes at the
top; with several, each has them under ``/<name>/``, ``/`` lists the streams and
``/status.json`` gives every stream's status by name.

The renderer only hands over a reference to the newest frame (:meth:`StreamView.on_frame`);
JPEG encoding happens on the viewers' threads, at most ``max_fps`` per second and once per
frame however many viewers there are, and only while someone watches. Each viewer always
gets the newest frame: a slow viewer skips frames and never slows the pipeline or the other
viewers. (The standard library's threading HTTP server is enough for a handful of viewers;
a web framework would add a dependency for nothing.)

Usage::

    view = BrowserView("127.0.0.1:8080", None, {"court1": "rtsp://...", "court2": "rtsp://..."})
    view.url                # http://127.0.0.1:8080/ (lists the streams; a single stream's page)
    view.views["court1"]    # the sink for court1's renderer; http://127.0.0.1:8080/court1/
    view.close()            # after every stream's renderer has closed its view
"""

from __future__ import annotations

import collections
import hmac
import http.server
import ipaddress
import json
import logging
import secrets
import socket
import threading
import time
from importlib import resources
from urllib.parse import parse_qs, urlsplit

import cv2
import numpy as np

from vidclf.core.metrics import PipelineStats
from vidclf.core.palette import label_colour
from vidclf.core.records import FrameResult
from vidclf.errors import VidclfError
from vidclf.sinks.events import Sink
from vidclf.sinks.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from vidclf.sinks.metrics import RunMetrics
from vidclf.sinks.network import parse_host_port

log = logging.getLogger("vidclf")

KEEPALIVE_S = 1.0  # a stream without new frames re-sends its last one this often
MAX_SEGMENTS_SHOWN = 500
# The page's timeline shows the last this many seconds of the stream (a rolling window: a
# service runs for weeks, and a strip of a week shows nothing).
TIMELINE_WINDOW_S = 600.0
BOUNDARY = "vidclf-frame"
# A client gets this long to send its request (before any authentication): half-open and
# idle connections end instead of holding a thread each.
REQUEST_TIMEOUT_S = 5.0
MAX_CONNECTIONS = 64  # at once, all clients; more are closed at once
MAX_CONNECTIONS_PER_CLIENT = 16  # one address cannot take every place


def parse_address(address: str) -> tuple[str, int]:
    """``serve.address``; port 0 picks a free port."""
    return parse_host_port(address, "serve.address", example="127.0.0.1:8080")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def addressed_to_loopback(host_header: str | None, bound_host: str) -> bool:
    """Whether a request's ``Host`` names this machine (``localhost``, a loopback address, or
    the address the server is bound to): a page on another site that reaches a loopback
    server through DNS rebinding sends its own domain and is refused."""
    if not host_header:
        return False
    host = host_header.strip().lower()
    host = host[1:].partition("]")[0] if host.startswith("[") else host.rpartition(":")[0] if host.count(":") == 1 else host
    return host in ("localhost", bound_host.lower()) or is_loopback(host)


def reply(handler: http.server.BaseHTTPRequestHandler, code: int, content_type: str, body: bytes) -> None:
    """A complete, uncached answer."""
    handler.send_response(code)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    handler.send_header("Cache-Control", "no-store")
    handler.end_headers()
    handler.wfile.write(body)


class StreamView(Sink):
    """One stream's picture and state for viewers; the renderer feeds it like any sink."""

    output_name = "browser view"

    wants_image = True  # the viewers' picture

    def __init__(self, max_fps: float = 15.0, jpeg_quality: int = 80, source: str = "", labels: list[str] | None = None):
        self.max_fps, self.jpeg_quality, self.source = max_fps, jpeg_quality, source
        self.labels = labels or []
        self._lock = threading.Condition()
        self._image: np.ndarray | None = None
        self._frame_id = 0
        self._jpeg: tuple[int, bytes] | None = None  # (frame id, encoded), shared by viewers
        self._status: dict = {"source": source, "label": None, "confidence": None, "top_k": [], "frames": 0}
        # the page's timeline, on the stream's own clock (``time_s``: since the run started);
        # a ``--loop`` file's position starts again, this clock does not
        self._segments: collections.deque[dict] = collections.deque(maxlen=MAX_SEGMENTS_SHOWN)
        self._times: collections.deque[float] = collections.deque(maxlen=60)
        self._closed = False
        self.viewers = 0
        self.frames_sent = 0
        self.stats: PipelineStats | None = None  # the stream's meters, for its source state (set by the pipeline)

    # -- renderer side: never blocks beyond a short lock ------------------------------------
    def on_frame(self, result: FrameResult) -> None:
        now = time.monotonic()
        with self._lock:
            self._image = result.image
            self._frame_id += 1
            self._times.append(now)
            span = self._times[-1] - self._times[0]
            self._status = {
                "source": self.source,
                "frame": result.frame_index,
                "frames": self._frame_id,
                "time_s": round(result.time_s, 3),
                "position_s": result.position_s,
                "label": result.label,
                "confidence": round(result.confidence, 4),
                "top_k": [[n, round(p, 4)] for n, p in result.top_k],
                "fps": round((len(self._times) - 1) / span, 2) if span > 0 else None,
                "latency_ms": round(result.latency_ms, 1),
                "infer_ms": round(result.infer_ms, 2),
                "ended": False,
            }
            self._extend_timeline(result.label, round(result.time_s, 3))
            self._lock.notify_all()

    def _extend_timeline(self, label: str, t: float) -> None:
        last = self._segments[-1] if self._segments else None
        if last is not None and last["label"] == label:
            last["end_s"] = t
        else:
            if last is not None:
                last["end_s"] = t  # the strip has no gaps: a label lasts until the next starts
            colour = label_colour(label, self.labels)  # the timeline PNGs' colour for it
            self._segments.append({"label": label, "colour": colour, "start_s": t, "end_s": t})
        while len(self._segments) > 1 and self._segments[0]["end_s"] < t - TIMELINE_WINDOW_S:
            self._segments.popleft()

    def close(self) -> None:
        """The stream has ended: viewers get its last state, and streams end."""
        with self._lock:
            self._closed = True
            self._status["ended"] = True
            self._lock.notify_all()

    # -- viewer side ------------------------------------------------------------------------
    def status(self) -> dict:
        with self._lock:
            segments = [dict(s) for s in self._segments]
            now = self._status.get("time_s")
            window_start = None if now is None else max(0.0, round(now - TIMELINE_WINDOW_S, 3))
            if segments and window_start is not None and segments[0]["start_s"] < window_start:
                segments[0]["start_s"] = window_start  # cut at the window's edge
            return {
                **self._status,
                "state": self.state(),
                "segments": segments,
                "timeline_window_s": TIMELINE_WINDOW_S,
                "viewers": self.viewers,
                "frames_sent": self.frames_sent,
            }

    def state(self) -> str:
        """``streaming``, ``waiting``, ``reconnecting``, ``failed`` or ``ended`` (the page's badge)."""
        if self._closed:
            return "ended"
        return str(self.stats.source_state) if self.stats is not None else "streaming"

    def next_jpeg(self, after: int, timeout: float = 1.0) -> tuple[int, bytes] | None:
        """The newest frame newer than ``after`` as JPEG (waits up to ``timeout``); None when
        nothing new came or the run has ended."""
        with self._lock:
            if self._frame_id <= after and not self._closed:
                self._lock.wait(timeout)
            if self._image is None or self._frame_id <= after:
                return None
            if self._jpeg is not None and self._jpeg[0] == self._frame_id:
                return self._jpeg
            frame_id, image = self._frame_id, self._image
        ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, self.jpeg_quality])
        encoded = (frame_id, data.tobytes() if ok else b"")
        with self._lock:
            if self._jpeg is None or self._jpeg[0] < frame_id:
                self._jpeg = encoded
        return encoded

    @property
    def closed(self) -> bool:
        return self._closed


def check_token(token: str | None) -> str | None:
    """An empty token (an unset ``$TOKEN`` on the command line) would serve without
    authentication: refused, never taken as "no token"."""
    if token is not None and not token.strip():
        raise VidclfError("serve.token is empty (an unset variable?); give a token, or leave the option out")
    return token


class _HttpService:
    """The HTTP server, its access token and the page; ``resolve`` maps a path to
    ``(view, path inside the view)``, or ``(None, path)`` for the service's own routes."""

    def __init__(self, address: str, token: str | None, resolve, index=None, metrics: RunMetrics | None = None):
        host, port = parse_address(address)
        token = check_token(token)
        if token is None and not is_loopback(host):
            # bound beyond this machine: nobody may watch without the token
            token = secrets.token_urlsafe(16)
        self.token, self.resolve, self.index, self.metrics = token, resolve, index, metrics
        self.host, self.loopback = host, is_loopback(host)
        web = resources.files("vidclf.sinks.web")
        self._page = web.joinpath("index.html").read_text(encoding="utf-8")
        self._grid = web.joinpath("grid.html").read_text(encoding="utf-8")
        try:
            self._server = _Server((host, port), _handler_for(self))
        except OSError as exc:
            raise VidclfError(f"cannot serve on {address}: {exc.strerror or exc}") from None
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.2}, name="serve", daemon=True
        )
        self._thread.start()
        shown_host = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown_host}:{self.port}/" + (f"?token={self.token}" if self.token else "")

    def host_allowed(self, host_header: str | None) -> bool:
        """A view bound to loopback answers only requests addressed to loopback names: a web
        page elsewhere cannot read it through DNS rebinding (its Host names the attacker's
        domain). Bound beyond loopback, the token guards the view."""
        return not self.loopback or addressed_to_loopback(host_header, self.host)

    def authorised(self, query: str, headers) -> bool:
        if not self.token:
            return True
        given = parse_qs(query).get("token", [""])[0]
        bearer = headers.get("Authorization", "")
        if bearer.startswith("Bearer "):
            given = given or bearer[7:]
        return hmac.compare_digest(given.encode(), self.token.encode())

    def service_route(self, path: str) -> tuple[int, str, bytes] | None:
        """``/metrics`` and ``/healthz`` when the run keeps metrics, before any stream's routes."""
        if self.metrics is None:
            return None
        if path == "/metrics":
            return 200, METRICS_CONTENT_TYPE, self.metrics.exposition()
        if path == "/healthz":
            healthy, reasons = self.metrics.health()
            body = "ok\n" if healthy else "".join(f"{reason}\n" for reason in reasons)
            return (200 if healthy else 503), "text/plain; charset=utf-8", body.encode()
        return None

    def page(self) -> bytes:
        return self._page.replace("__TOKEN__", json.dumps(self.token or "")).encode()

    def grid(self) -> bytes:
        return self._grid.replace("__TOKEN__", json.dumps(self.token or "")).encode()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(2.0)


class BrowserView:
    """One server for the browser views of every stream of a run. One stream: its page at
    ``/``. Several: ``/<name>/`` is each stream's page, ``/`` lists them and ``/status.json``
    gives every stream's status by name."""

    def __init__(
        self,
        address: str,
        token: str | None = None,
        sources: dict[str, str] | None = None,
        max_fps: float = 15.0,
        jpeg_quality: int = 80,
        labels: list[str] | None = None,
        metrics: RunMetrics | None = None,
    ):
        sources = sources or {"stream": ""}
        self.views = {name: StreamView(max_fps, jpeg_quality, source, labels) for name, source in sources.items()}
        index = self._index if len(sources) > 1 else None
        self._http = _HttpService(address, token, self._resolve, index, metrics)
        self.token, self.port, self.url = self._http.token, self._http.port, self._http.url

    def _resolve(self, path: str) -> tuple[StreamView | None, str]:
        if len(self.views) == 1:
            return next(iter(self.views.values())), path
        name, slash, rest = path.lstrip("/").partition("/")
        view = self.views.get(name)
        return (view, slash + rest) if view is not None else (None, path)

    def _index(self, path: str) -> tuple[str, bytes] | None:
        if path in ("/", "/index.html"):  # every stream in a grid: picture, label, state
            return "text/html; charset=utf-8", self._http.grid()
        if path == "/status.json":
            return "application/json", json.dumps({name: view.status() for name, view in self.views.items()}).encode()
        return None

    def close(self) -> None:
        for view in self.views.values():
            view.close()
        self._http.close()


class MetricsServer:
    """``/metrics`` and ``/healthz`` on an address of their own (``--metrics HOST:PORT``), for a
    run without a browser view or one that should not expose the picture. Bound beyond
    loopback it needs the token, as the browser view does (Prometheus: ``authorization``
    with the ``Bearer`` token)."""

    def __init__(self, address: str, token: str | None, metrics: RunMetrics):
        self._http = _HttpService(address, token, lambda path: (None, path), None, metrics)
        self.token, self.port = self._http.token, self._http.port
        self.url = self._http.url.split("?")[0] + "metrics"

    def close(self) -> None:
        self._http.close()


class _Server(http.server.ThreadingHTTPServer):
    """A thread per connection, with bounded places: beyond :data:`MAX_CONNECTIONS` (or
    :data:`MAX_CONNECTIONS_PER_CLIENT` from one address) a connection is closed at once."""

    daemon_threads = True  # a viewer still connected must not keep the process alive
    allow_reuse_address = True
    # the listen backlog: socketserver's default of 5 drops the 6th connection of a burst (a
    # grid page opening every stream, a reconnecting viewer) and its client retries a second later
    request_queue_size = MAX_CONNECTIONS

    def __init__(self, address: tuple[str, int], handler):
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self._places = threading.Lock()
        self._open: collections.Counter[str] = collections.Counter()
        self.refused = 0
        super().__init__(address, handler)

    def process_request(self, request, client_address) -> None:
        client = client_address[0]
        with self._places:
            full = sum(self._open.values()) >= MAX_CONNECTIONS or self._open[client] >= MAX_CONNECTIONS_PER_CLIENT
            if not full:
                self._open[client] += 1
        if full:
            self.refused += 1
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request, client_address) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._places:
                self._open[client_address[0]] -= 1
                if self._open[client_address[0]] <= 0:
                    del self._open[client_address[0]]


def _handler_for(service: _HttpService):
    class Handler(http.server.BaseHTTPRequestHandler):
        server_version = "vidclf"
        timeout = REQUEST_TIMEOUT_S  # socket timeout from the first byte on: idle clients are let go

        def log_message(self, fmt: str, *args) -> None:  # requests go to -vv, not to the console
            log.debug("serve: " + fmt, *args)

        def do_GET(self) -> None:  # noqa: N802  (http.server's naming)
            parts = urlsplit(self.path)
            if not service.host_allowed(self.headers.get("Host")):
                self._reply(421, "text/plain", b"this view answers only to the host it is bound to\n")
                return
            if not service.authorised(parts.query, self.headers):
                self._reply(403, "text/plain", b"a valid ?token= is required\n")
                return
            own_route = service.service_route(parts.path)
            if own_route is not None:
                self._reply(*own_route)
                return
            view, path = service.resolve(parts.path)
            if view is None:
                own = service.index(path) if service.index else None
                if own is None:
                    self._reply(404, "text/plain", b"not found\n")
                else:
                    self._reply(200, *own)
                return
            if not path:  # /court1 -> /court1/: the page's relative links need the slash
                self.send_response(301)
                self.send_header("Location", parts.path + "/" + (f"?{parts.query}" if parts.query else ""))
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            routes = {
                "/": lambda: self._reply(200, "text/html; charset=utf-8", service.page()),
                "/index.html": lambda: self._reply(200, "text/html; charset=utf-8", service.page()),
                "/status.json": lambda: self._reply(200, "application/json", json.dumps(view.status()).encode()),
                "/snapshot.jpg": lambda: self._snapshot(view),
                "/stream.mjpg": lambda: self._stream(view),
            }
            route = routes.get(path)
            if route is None:
                self._reply(404, "text/plain", b"not found\n")
                return
            try:
                route()
            except (BrokenPipeError, ConnectionResetError, TimeoutError):
                pass  # the viewer left

        def _reply(self, code: int, content_type: str, body: bytes) -> None:
            reply(self, code, content_type, body)

        def _snapshot(self, sink: StreamView) -> None:
            frame = sink.next_jpeg(-1, timeout=2.0)
            if frame is None:
                self._reply(503, "text/plain", b"no frame yet\n")
            else:
                self._reply(200, "image/jpeg", frame[1])

        def _stream(self, sink: StreamView) -> None:
            self.send_response(200)
            self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.connection.settimeout(10.0)  # a viewer that stops reading is dropped, not waited for
            interval = 1.0 / sink.max_fps
            last_id, last_sent, data = -1, 0.0, b""
            with sink._lock:
                sink.viewers += 1
            try:
                while not sink.closed:
                    wait = last_sent + interval - time.monotonic()
                    if wait > 0:
                        time.sleep(wait)
                    frame = sink.next_jpeg(last_id)
                    if frame is None:
                        if not data or time.monotonic() - last_sent < KEEPALIVE_S:
                            continue
                        # the camera is away: the last picture again now and then, so that the
                        # viewer, and any proxy between, sees a live connection, not a hung one
                    else:
                        last_id, data = frame
                    head = f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(data)}\r\n\r\n"
                    self.wfile.write(head.encode() + data + b"\r\n")
                    self.wfile.flush()
                    last_sent = time.monotonic()
                    sink.frames_sent += 1
            finally:
                with sink._lock:
                    sink.viewers -= 1

    return Handler
