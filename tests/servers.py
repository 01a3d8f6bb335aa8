"""Helpers that start real components for tests, benchmarks and the soak script.

* :func:`extract_frames` — write a clip's frames as JPEGs (the RTSP server's input).
* :class:`RtspServer` — the GStreamer RTSP server of ``tools/rtsp_server.py`` on 127.0.0.1,
  started and stopped by PID; ``kill()`` and ``start()`` again simulate a camera outage.
* :class:`HttpFileServer` — serves a folder over HTTP on 127.0.0.1 with byte ranges (as a
  web server or object store does; FFmpeg seeks to an mp4's index at the end of the file).

Usage::

    frames = extract_frames("clip.mp4", tmp_path / "frames")
    with RtspServer(frames, fps=30) as server:
        url = server.url      # rtsp://127.0.0.1:<free port>/cam
        server.kill()         # stream lost
        server.start()        # stream back, same URL
"""

from __future__ import annotations

import http.server
import os
import re
import selectors
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import cv2

ROOT = Path(__file__).resolve().parent.parent
SERVER_SCRIPT = ROOT / "tools" / "rtsp_server.py"
SYSTEM_PYTHON = "/usr/bin/python3"


def extract_frames(clip: str | Path, folder: str | Path, max_frames: int = 0) -> Path:
    """Decode ``clip`` into ``folder/frame_00000.jpg``...; returns ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    capture = cv2.VideoCapture(str(clip))
    index = 0
    while not max_frames or index < max_frames:
        ok, image = capture.read()
        if not ok:
            break
        cv2.imwrite(str(folder / f"frame_{index:05d}.jpg"), image, [cv2.IMWRITE_JPEG_QUALITY, 90])
        index += 1
    capture.release()
    if index == 0:
        raise RuntimeError(f"no frames decoded from {clip}")
    return folder


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rtsp_server_available() -> bool:
    """True when the system Python has GStreamer's RTSP server bindings."""
    if not Path(SYSTEM_PYTHON).exists():
        return False
    probe = (
        "import gi; gi.require_version('GstRtspServer', '1.0'); "
        "from gi.repository import GstRtspServer, Gst; Gst.init(None); "
        "assert Gst.ElementFactory.find('x264enc')"
    )
    return subprocess.run([SYSTEM_PYTHON, "-c", probe], capture_output=True).returncode == 0


class RtspServer:
    def __init__(self, frames: str | Path, fps: int = 30, port: int | None = None, mount: str = "/cam"):
        self.frames, self.fps, self.mount = Path(frames), fps, mount
        self.port = port or free_port()
        self.url = f"rtsp://127.0.0.1:{self.port}{mount}"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 15.0) -> RtspServer:
        """Start the server and wait for its READY line."""
        if not shutil.which(SYSTEM_PYTHON):
            raise RuntimeError(f"{SYSTEM_PYTHON} not found (the RTSP server needs Debian's python3-gi)")
        cmd = [
            SYSTEM_PYTHON,
            str(SERVER_SCRIPT),
            "--frames",
            str(self.frames),
            "--port",
            str(self.port),
            "--mount",
            self.mount,
            "--fps",
            str(self.fps),
        ]
        self.process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        selector = selectors.DefaultSelector()
        selector.register(self.process.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        output = []
        while time.monotonic() < deadline:
            if not selector.select(timeout=0.2):
                if self.process.poll() is not None:
                    break
                continue
            line = self.process.stdout.readline()
            if not line:
                break
            output.append(line)
            if line.startswith("READY"):
                selector.close()
                return self
        selector.close()
        self.stop()
        raise RuntimeError(f"RTSP server did not start: {''.join(output)[-500:]}")

    def kill(self) -> None:
        """Kill the server abruptly (SIGKILL), as a crashed camera or a cut cable would look."""
        if self.process and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(5)

    def pause(self) -> None:
        """Freeze the server (SIGSTOP): connections stay open but no data flows — a stall."""
        if self.process and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        if self.process and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGCONT)

    def stop(self) -> None:
        """Stop the server politely (SIGTERM), then by force."""
        if self.process and self.process.poll() is None:
            self.resume()  # a stopped process cannot act on SIGTERM
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.kill()
        if self.process and self.process.stdout:
            self.process.stdout.close()

    def __enter__(self) -> RtspServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class _RangeHandler(http.server.SimpleHTTPRequestHandler):
    """``SimpleHTTPRequestHandler`` plus single byte ranges (``Range: bytes=a-b``)."""

    def log_message(self, *args) -> None:  # keep test output clean
        pass

    def send_head(self):
        match = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
        path = Path(self.translate_path(self.path))
        if not match or not path.is_file():
            return super().send_head()
        size = path.stat().st_size
        start = int(match[1])
        end = min(int(match[2]) if match[2] else size - 1, size - 1)
        if start >= size:
            self.send_error(416)
            return None
        handle = path.open("rb")
        handle.seek(start)
        self.send_response(206)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.send_header("Content-Length", str(end - start + 1))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        self._remaining = end - start + 1
        return handle

    def copyfile(self, source, outputfile) -> None:
        remaining = getattr(self, "_remaining", None)
        if remaining is None:
            return super().copyfile(source, outputfile)
        while remaining > 0:
            chunk = source.read(min(65536, remaining))
            if not chunk:
                break
            outputfile.write(chunk)
            remaining -= len(chunk)


class HttpFileServer:
    """Serve ``folder`` on 127.0.0.1 from a thread; ``url(name)`` gives a file's address."""

    def __init__(self, folder: str | Path):
        handler = lambda *a, **kw: _RangeHandler(*a, directory=str(folder), **kw)  # noqa: E731
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, name="http-file-server", daemon=True)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/{name}"

    def __enter__(self) -> HttpFileServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
