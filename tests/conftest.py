"""Fixtures that start real components: the CLI in a subprocess, an RTSP server, Xvfb."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import pytest
from servers import RtspServer, extract_frames, rtsp_server_available

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("VIDCLF_SHARED_DATA", ROOT.parent / "shared" / "data"))
CLIPS = SHARED / "clips"
SPORTS = SHARED / "sports"
MODEL = ROOT / "models" / "sports22.tflite"
KERAS_MODEL = ROOT / "models" / "sports22.keras"


def pytest_collection_modifyitems(config, items):
    if not SHARED.is_dir():
        skip = pytest.mark.skip(reason=f"shared data not found at {SHARED} (set VIDCLF_SHARED_DATA)")
        for item in items:
            if "shared" in item.fixturenames:
                item.add_marker(skip)


@pytest.fixture(scope="session")
def shared() -> Path:
    return SHARED


def cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.update({"TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONUNBUFFERED": "1"}, **extra)
    return env


def run_cli(script: str, *args: str, timeout: float = 120, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run ``python <script> args`` from the repo root and capture its output."""
    return subprocess.run(
        [sys.executable, str(ROOT / script), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env or cli_env(),
    )


def start_cli(script: str, *args: str, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(ROOT / script), *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env or cli_env(),
    )


def signal_and_wait(proc: subprocess.Popen, sig: int, timeout: float = 30) -> tuple[str, str, float]:
    """Send ``sig`` to a CLI started by :func:`start_cli`; its stdout, stderr and the seconds it
    took to exit after the signal."""
    sent = time.monotonic()
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=timeout)
    return stdout, stderr, time.monotonic() - sent


def error_lines(stderr: str) -> list[str]:
    """The lines a user would read as the error (TensorFlow/OpenCV/FFmpeg chatter excluded)."""
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def assert_one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> str:
    assert result.returncode == 2, (result.returncode, result.stdout[-2000:], result.stderr[-2000:])
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    lines = error_lines(result.stderr)
    assert len(lines) == 1, result.stderr[-2000:]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def count_frames(path: str | Path) -> int:
    """Decode a video to its end: the number of frames a player would show."""
    capture = cv2.VideoCapture(str(path))
    n = 0
    while capture.read()[0]:
        n += 1
    capture.release()
    return n


@pytest.fixture(scope="session")
def rtsp_frames(tmp_path_factory, shared) -> Path:
    if not rtsp_server_available():
        pytest.fail("GStreamer RTSP server not installed (apt: python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-ugly)")
    return extract_frames(CLIPS / "basketball_gym_shooting.mp4", tmp_path_factory.mktemp("rtsp_frames"), max_frames=150)


@pytest.fixture
def rtsp_server(rtsp_frames):
    server = RtspServer(rtsp_frames, fps=30)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def xvfb():
    """A private X display (Xvfb) for the window tests; yields its DISPLAY value."""
    if not shutil.which("Xvfb") or not shutil.which("xdotool"):
        pytest.fail("Xvfb and xdotool are required for the window tests (apt: xvfb xdotool)")
    for number in range(90, 140):
        if not Path(f"/tmp/.X11-unix/X{number}").exists() and not Path(f"/tmp/.X{number}-lock").exists():
            break
    display = f":{number}"
    process = subprocess.Popen(
        ["Xvfb", display, "-screen", "0", "1280x720x24", "-nolisten", "tcp"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 10
    while not Path(f"/tmp/.X11-unix/X{number}").exists():
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            pytest.fail("Xvfb did not start")
        time.sleep(0.1)
    yield display
    process.send_signal(signal.SIGTERM)
    process.wait(10)


SUMMARY_RE = (
    r"ended by: (?P<ended_by>[^;]+); frames read (?P<read>\d+), shown (?P<shown>\d+), classified (?P<classified>\d+), "
    r"dropped (?P<dropped>\d+), reconnects (?P<reconnects>\d+)"
)


def parse_summary(stdout: str) -> dict:
    """Parse stream_classify.py's end-of-run summary lines."""
    import re

    match = re.search(SUMMARY_RE, stdout)
    assert match, stdout[-2000:]
    out = {k: (v if k == "ended_by" else int(v)) for k, v in match.groupdict().items()}
    rec = re.search(r"recording: .* \((\d+) frames at ([\d.]+) FPS\)", stdout)
    if rec:
        out["recorded"], out["recording_fps"] = int(rec.group(1)), float(rec.group(2))
    return out


def read_jsonl(path) -> list[dict]:
    import json

    return [json.loads(line) for line in Path(path).read_text().splitlines()]


def wait_rows(path: Path, n: int, timeout: float = 60.0) -> None:
    """Wait until the results file ``path`` holds ``n`` rows (the CLI is running and classifying)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and len(path.read_text().splitlines()) >= n:
            return
        time.sleep(0.2)
    raise AssertionError(f"{path} did not reach {n} rows in {timeout} s")


class Mosquitto:
    """A real mosquitto broker on 127.0.0.1:``port``; it can be killed and started again on the
    same port (a broker restart), optionally with a password file."""

    def __init__(
        self, folder: Path, port: int | None = None, passwords: dict[str, str] | None = None, tls: tuple[Path, Path] | None = None
    ):
        from servers import free_port

        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not Path(binary).exists():
            pytest.fail("mosquitto is required for the MQTT tests (apt: mosquitto)")
        self.binary, self.port = binary, port or free_port()
        self.conf = folder / f"mosquitto-{self.port}.conf"
        import getpass

        # as root, mosquitto would switch to its own user, who cannot read pytest's private folders
        lines = [f"listener {self.port} 127.0.0.1", "persistence false", f"user {getpass.getuser()}"]
        if tls:  # (certificate, key) of the broker: this listener speaks only TLS
            lines += [f"certfile {tls[0]}", f"keyfile {tls[1]}"]
        if passwords:
            password_file = folder / "mosquitto.passwd"
            password_file.write_text("".join(f"{user}:{pw}\n" for user, pw in passwords.items()))
            subprocess.run(["mosquitto_passwd", "-U", str(password_file)], check=True, capture_output=True)
            lines += ["allow_anonymous false", f"password_file {password_file}"]
        else:
            lines.append("allow_anonymous true")
        self.conf.write_text("\n".join(lines) + "\n")
        self.process: subprocess.Popen | None = None

    def start(self) -> Mosquitto:
        import socket

        self.process = subprocess.Popen([self.binary, "-c", str(self.conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    self.stop()
                    pytest.fail("mosquitto did not start")
                time.sleep(0.1)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(10)
        self.process = None


def make_tls_files(folder: Path) -> tuple[Path, Path, Path]:
    """A throw-away CA and a certificate it signed for 127.0.0.1 (openssl): (ca, cert, key)."""
    ca_key, ca, key, csr, cert = (folder / n for n in ("ca.key", "ca.pem", "broker.key", "broker.csr", "broker.pem"))
    ext = folder / "san.ext"
    ext.write_text("subjectAltName = IP:127.0.0.1\n")

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(ca_key), "-out", str(ca), "-days", "2",
            "-subj", "/CN=vidclf test CA")  # fmt: skip
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr), "-subj", "/CN=127.0.0.1")
    openssl("x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key), "-CAcreateserial", "-out", str(cert),
            "-days", "2", "-extfile", str(ext))  # fmt: skip
    return ca, cert, key


@pytest.fixture
def mosquitto(tmp_path):
    broker = Mosquitto(tmp_path).start()
    yield broker.port
    broker.stop()


def headless_chromium(*args: str, budget_ms: int = 5000, timeout: float = 90) -> subprocess.CompletedProcess:
    """Real headless Chromium with ``args`` (a URL and --dump-dom or --screenshot=...);
    ``budget_ms`` of page time runs before the dump or screenshot."""
    from browser import chromium_binary

    browser = chromium_binary()
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"]
    flags.append(f"--virtual-time-budget={budget_ms}")
    return subprocess.run([browser, *flags, *args], capture_output=True, text=True, timeout=timeout)
