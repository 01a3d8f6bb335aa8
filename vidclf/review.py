"""Sort the frames ``--save-uncertain`` kept into class folders, in the browser.

``vidclf review DIR`` serves a page on 127.0.0.1 that shows the frames waiting in ``DIR``
(each JPEG with its JSON sidecar: the label shown, the raw top-k) one at a time, with a
button per class (keys 1-9 for the first nine, 0 for "no sport", s to skip). Filing a frame
moves it and its sidecar into ``DIR/<class>/`` — ``DIR/_none/`` for "no sport" — the layout
``vidclf train --extra-data DIR`` reads as it is (with ``train.background_class``).

The server binds to loopback only and answers only requests addressed to a loopback name (a
web page elsewhere cannot drive it through DNS rebinding); filing is a POST with a JSON body,
so a link or an image elsewhere cannot file anything. (The standard library's HTTP server is
enough for one person at a time.)

Usage::

    review = Review("runs/hard", classes=["basketball", "tennis", "no_sport"], background={"no_sport"})
    review.pending()                 # [{"name": "court1_0000123", "label": "uncertain", ...}, ...]
    review.file("court1_0000123", "basketball")
"""

from __future__ import annotations

import http.server
import json
import logging
import re
import threading
from importlib import resources
from pathlib import Path

from vidclf.errors import VidclfError
from vidclf.sinks.serve import addressed_to_loopback, is_loopback, parse_address, reply

log = logging.getLogger("vidclf")

NEGATIVES_FOLDER = "_none"  # the training code's folder of images without sport (train.background_class)
NAME = re.compile(r"^[A-Za-z0-9._-]+$")  # a kept frame's file stem: no path, no traversal
MAX_BODY = 4096


class Review:
    """The frames waiting in ``folder`` and the filing of each into a class folder."""

    def __init__(self, folder: str | Path, classes: list[str], background: set[str] | None = None):
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise VidclfError(f"no such folder of kept frames: {self.folder}")
        self.classes, self.background = list(classes), set(background or ())
        self._lock = threading.Lock()

    def pending(self) -> list[dict]:
        """Every frame not filed yet, oldest name first, with its sidecar."""
        items = []
        for jpeg in sorted(self.folder.glob("*.jpg")):
            try:
                sidecar = json.loads(jpeg.with_suffix(".json").read_text())
            except (OSError, ValueError):
                sidecar = {}
            items.append(
                {"name": jpeg.stem, **{k: sidecar.get(k) for k in ("label", "confidence", "top_k", "stream", "wall_time")}}
            )
        return items

    def folder_of(self, label: str) -> Path:
        return self.folder / (NEGATIVES_FOLDER if label in self.background else label)

    def file(self, name: str, label: str) -> Path:
        """Move frame ``name`` (and its sidecar) into ``label``'s folder; returns the JPEG's new path."""
        if not NAME.match(name or ""):
            raise VidclfError(f"not a kept frame's name: {name!r}")
        if label not in self.classes:
            raise VidclfError(f"not one of the model's classes: {label!r}")
        with self._lock:
            jpeg = self.folder / f"{name}.jpg"
            if not jpeg.is_file():
                raise VidclfError(f"no such frame waiting: {name}")
            target = self.folder_of(label)
            target.mkdir(exist_ok=True)
            jpeg.rename(target / jpeg.name)
            sidecar = jpeg.with_suffix(".json")
            if sidecar.is_file():
                sidecar.rename(target / sidecar.name)
            return target / jpeg.name


class ReviewServer:
    """The review page and its three routes on a loopback address."""

    def __init__(self, review: Review, address: str):
        host, port = parse_address(address)
        if not is_loopback(host):
            raise VidclfError(f"vidclf review serves on this machine only (127.0.0.1, ::1 or localhost), not {host}")
        self.review, self.host = review, host
        page = resources.files("vidclf.sinks.web").joinpath("review.html").read_text(encoding="utf-8")
        self.page = page.replace("__CLASSES__", json.dumps(review.classes)).encode()
        try:
            self._server = http.server.ThreadingHTTPServer((host, port), _handler_for(self))
        except OSError as exc:
            raise VidclfError(f"cannot serve on {address}: {exc.strerror or exc}") from None
        self.port = self._server.server_address[1]
        shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{self.port}/"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
        self._thread.start()

    def host_allowed(self, host_header: str | None) -> bool:
        return addressed_to_loopback(host_header, self.host)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(2.0)


def _handler_for(server: ReviewServer):
    review = server.review

    class Handler(http.server.BaseHTTPRequestHandler):
        server_version = "vidclf-review"

        def log_message(self, fmt: str, *args) -> None:
            log.debug("review: " + fmt, *args)

        def _reply(self, code: int, content_type: str, body: bytes) -> None:
            reply(self, code, content_type, body)

        def _json(self, code: int, value) -> None:
            self._reply(code, "application/json", json.dumps(value).encode())

        def do_GET(self) -> None:  # noqa: N802  (http.server's naming)
            if not server.host_allowed(self.headers.get("Host")):
                self._reply(421, "text/plain", b"this page answers only to the host it is bound to\n")
                return
            path = self.path.split("?")[0]
            if path in ("/", "/index.html"):
                self._reply(200, "text/html; charset=utf-8", server.page)
            elif path == "/pending.json":
                self._json(200, review.pending())
            elif path.startswith("/image/") and path.endswith(".jpg") and NAME.match(path[7:-4]):
                jpeg = review.folder / path[7:]
                if jpeg.is_file():
                    self._reply(200, "image/jpeg", jpeg.read_bytes())
                else:
                    self._reply(404, "text/plain", b"not found\n")
            else:
                self._reply(404, "text/plain", b"not found\n")

        def do_POST(self) -> None:  # noqa: N802
            if not server.host_allowed(self.headers.get("Host")):
                self._reply(421, "text/plain", b"this page answers only to the host it is bound to\n")
                return
            if self.path != "/file" or "application/json" not in (self.headers.get("Content-Type") or ""):
                self._reply(404, "text/plain", b"not found\n")
                return
            try:
                length = int(self.headers.get("Content-Length") or 0)
                if not 0 < length <= MAX_BODY:
                    raise ValueError("body size")
                body = json.loads(self.rfile.read(length))
                moved = review.file(str(body.get("name")), str(body.get("class")))
            except (ValueError, AttributeError) as exc:
                self._json(400, {"error": f"bad request ({exc})"})
                return
            except VidclfError as exc:
                self._json(409, {"error": str(exc)})
                return
            self._json(200, {"filed": str(moved.relative_to(review.folder)), "pending": len(review.pending())})

    return Handler
