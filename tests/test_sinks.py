"""Where results go besides the window: JSON lines on stdout, a webhook (a real HTTP server),
MQTT (a real mosquitto broker), subtitles, the timeline picture, and the browser view (real
headless Chromium). Every server listens on 127.0.0.1 and is started and stopped here."""

from __future__ import annotations

import http.server
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import (
    CLIPS,
    ROOT,
    SHARED,
    SPORTS,
    assert_one_line_error,
    cli_env,
    count_frames,
    headless_chromium,
    parse_summary,
    read_jsonl,
    run_cli,
    start_cli,
    wait_rows,
)
from servers import free_port

from vidclf.core.palette import label_colour
from vidclf.sinks.serve import TIMELINE_WINDOW_S, BrowserView, StreamView

MONTAGE = CLIPS / "montage_lifting_football_tennis.mp4"
DEMO = ROOT / "models" / "demo" / "basketball_gym_shooting.mp4"
ARTIFACTS = Path(os.environ.get("VIDCLF_TEST_ARTIFACTS", ROOT / "runs" / "test-artifacts"))


def segments_of(results: Path) -> list[dict]:
    return json.loads(Path(f"{results}.summary.json").read_text())["segments"]


# -- stdout -----------------------------------------------------------------------------------


@pytest.mark.slow
def test_results_to_stdout_are_json_lines_and_the_summary_goes_to_stderr(shared):
    result = run_cli("stream_classify.py", "--source", str(DEMO), "--results", "-", "--no-display")
    assert result.returncode == 0, result.stderr[-2000:]
    rows = [json.loads(line) for line in result.stdout.splitlines()]  # nothing else on stdout
    assert [r["frame"] for r in rows] == list(range(300))
    assert parse_summary(result.stderr)["shown"] == 300


def test_a_looping_run_ends_when_the_reader_of_its_stdout_results_goes_away(shared):
    """`vidclf run --loop --results - | head`: once head has its lines and exits, the run ends
    cleanly (exit 0, summary on stderr) instead of classifying for nobody forever."""
    proc = start_cli("stream_classify.py", "--source", str(DEMO), "--loop", "--results", "-", "--no-display")
    try:
        lines = [proc.stdout.readline() for _ in range(5)]
        assert all(json.loads(line)["frame"] == i for i, line in enumerate(lines))
        proc.stdout.close()  # the reader goes away, as head does
        stderr = proc.stderr.read()
        proc.wait(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, stderr[-2000:]
    summary = parse_summary(stderr)
    assert summary["ended_by"] == "reader gone" and "Traceback" not in stderr


# -- webhook ----------------------------------------------------------------------------------


class _Receiver:
    """A real HTTP server on 127.0.0.1 that records each POSTed JSON body."""

    def __init__(self):
        self.bodies: list[dict] = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                length = int(self.headers["Content-Length"])
                receiver.bodies.append(json.loads(self.rfile.read(length)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.slow
def test_webhook_receives_every_label_change(shared, tmp_path):
    results = tmp_path / "r.jsonl"
    with _Receiver() as receiver:
        run = run_cli(
            "stream_classify.py", "--source", str(MONTAGE), "--results", str(results), "--webhook", receiver.url, "--no-display"
        )
        assert run.returncode == 0, run.stderr[-2000:]
    segments = segments_of(results)
    assert len(segments) >= 2  # the montage changes activity
    starts = [b for b in receiver.bodies if b["type"] == "segment_start"]
    ends = [b for b in receiver.bodies if b["type"] == "segment_end"]
    assert [(b["label"], b["first_frame"]) for b in starts] == [(s["label"], s["first_frame"]) for s in segments]
    assert [(b["label"], b["last_frame"], b["end_s"]) for b in ends] == [
        (s["label"], s["last_frame"], s["end_s"]) for s in segments
    ]
    assert all(b["source"] == MONTAGE.name for b in receiver.bodies)
    # ids and wall-clock times match the summary's and the results rows' (the capture's clock)
    rows = {row["frame"]: row for row in read_jsonl(results)}
    stem = MONTAGE.stem
    assert [b["id"] for b in starts] == [s["id"] for s in segments] == [f"{stem}-{n}" for n in range(1, len(segments) + 1)]
    assert [b["start_wall_time"] for b in starts] == [rows[s["first_frame"]]["wall_time"] for s in segments]
    assert [b["end_wall_time"] for b in ends] == [rows[s["last_frame"]]["wall_time"] for s in segments]
    summary = json.loads((tmp_path / "r.jsonl.summary.json").read_text())
    assert summary["source"] == str(MONTAGE) and len(summary["model"]["sha256"]) == 64
    assert summary["settings"]["smoothing"]["class_thresholds"] == {"basketball": 0.4}  # the model's own, in force


@pytest.mark.slow
def test_a_webhook_that_never_answers_never_holds_the_pipeline(shared, tmp_path):
    # a listening socket nobody accepts from: connections hang until the POST's timeout
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/hook"
        config = tmp_path / "c.yaml"
        config.write_text("events:\n  webhook_timeout_s: 0.5\n  webhook_retries: 1\n")
        run = run_cli("stream_classify.py", "--config", str(config), "--source", str(MONTAGE), "--webhook", url, "--no-display")
    assert run.returncode == 0, run.stderr[-2000:]
    summary = parse_summary(run.stdout)
    assert summary["shown"] == summary["read"] > 0 and summary["dropped"] == 0
    assert re.search(r"warning: webhook .*: \d+ events sent, \d+ failed", run.stderr), run.stderr[-2000:]


# -- MQTT -------------------------------------------------------------------------------------


@pytest.mark.slow
def test_mqtt_events_and_retained_label_reach_a_real_broker(shared, tmp_path, mosquitto):
    import paho.mqtt.client as mqtt

    received: list[tuple[str, bytes, bool]] = []
    subscriber = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    subscriber.on_message = lambda _c, _u, msg: received.append((msg.topic, msg.payload, msg.retain))
    subscriber.connect("127.0.0.1", mosquitto)
    subscriber.subscribe("vidclf/#", qos=1)
    subscriber.loop_start()
    try:
        results = tmp_path / "r.jsonl"
        args = ["--source", str(MONTAGE), "--results", str(results), "--mqtt", f"127.0.0.1:{mosquitto}", "--name", "court1"]
        run = run_cli("stream_classify.py", *args, "--no-display")
        assert run.returncode == 0, run.stderr[-2000:]
        time.sleep(1.0)  # the last messages reach the subscriber
    finally:
        subscriber.loop_stop()
        subscriber.disconnect()
    segments = segments_of(results)
    events = [json.loads(p) for t, p, _ in received if t == "vidclf/events"]
    assert [e["label"] for e in events if e["type"] == "segment_start"] == [s["label"] for s in segments]
    assert all(e["camera"] == "court1" for e in events)
    labels = [p.decode() for t, p, _ in received if t == "vidclf/court1/label"]
    assert labels == [s["label"] for s in segments]
    available = [p.decode() for t, p, _ in received if t == "vidclf/available"]
    assert available[0] == "online" and available[-1] == "offline"

    # a new subscriber gets the retained state at once
    late: list[tuple[str, bytes]] = []
    checker = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    checker.on_message = lambda _c, _u, msg: late.append((msg.topic, msg.payload))
    checker.connect("127.0.0.1", mosquitto)
    checker.subscribe([("vidclf/court1/label", 1), ("vidclf/available", 1)])
    checker.loop_start()
    deadline = time.monotonic() + 5
    while len(late) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    checker.loop_stop()
    checker.disconnect()
    assert dict(late) == {"vidclf/court1/label": segments[-1]["label"].encode(), "vidclf/available": b"offline"}


# -- subtitles and the timeline picture ---------------------------------------------------------


@pytest.mark.slow
def test_subtitles_and_timeline_picture_match_the_segments(shared, tmp_path):
    results, srt, png = tmp_path / "r.jsonl", tmp_path / "r.srt", tmp_path / "r.png"
    args = ["--source", str(MONTAGE), "--results", str(results), "--srt", str(srt), "--timeline", str(png)]
    run = run_cli("stream_classify.py", *args, "--no-display")
    assert run.returncode == 0, run.stderr[-2000:]
    segments = segments_of(results)
    blocks = [b.splitlines() for b in srt.read_text().strip().split("\n\n")]
    assert [b[2] for b in blocks] == [s["label"] for s in segments]
    assert [int(b[0]) for b in blocks] == list(range(1, len(segments) + 1))

    def seconds(stamp: str) -> float:
        h, m, rest = stamp.split(":")
        return int(h) * 3600 + int(m) * 60 + float(rest.replace(",", "."))

    starts = [seconds(b[1].split(" --> ")[0]) for b in blocks]
    assert starts == pytest.approx([s["start_s"] for s in segments], abs=0.001)
    image = cv2.imread(str(png))
    assert image is not None and image.shape[1] >= 800
    # every label is drawn in the one palette the browser view uses (by its place in the model's labels)
    labels = json.loads((ROOT / "models" / "sports22.labels.json").read_text())
    for label in {s["label"] for s in segments}:
        assert palette_pixels(image, label_colour(label, labels)) > 300, label


def palette_pixels(bgr_image, colour: str) -> int:
    """How many pixels of a picture are ``colour`` (#RRGGBB), within JPEG/antialiasing noise."""
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return int(np.sum(np.all(np.abs(bgr_image.astype(int) - [b, g, r]) <= 4, axis=2)))


@pytest.mark.parametrize(
    "flag, value, fragment",
    [
        ("--webhook", "ftp://127.0.0.1/x", "events.webhook must be an http(s):// URL"),
        ("--mqtt", "127.0.0.1:notaport", "events.mqtt must be host:port"),
        ("--serve", "8080", "serve.address must be host:port"),
        ("--srt", "out.txt", "must end in .srt"),
        ("--timeline", "out.jpg", "must end in .png"),
    ],
)
def test_bad_sink_settings_are_one_error_line(flag, value, fragment, tmp_path):
    result = run_cli(
        "stream_classify.py", "--source", str(DEMO), flag, str(tmp_path / value) if flag in ("--srt", "--timeline") else value
    )
    assert_one_line_error(result, fragment)


def test_serve_port_in_use_is_one_error_line():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        result = run_cli(
            "stream_classify.py", "--source", str(DEMO), "--no-display", "--serve", f"127.0.0.1:{taken.getsockname()[1]}"
        )
    assert_one_line_error(result, "cannot serve on 127.0.0.1:")


# -- the browser view -------------------------------------------------------------------------


def _get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, b""


@pytest.mark.slow
def test_an_mp4_recording_is_h264_and_plays_to_its_end_in_chromium(tmp_path):
    """Browsers refuse mp4v: an .mp4 recording is H.264, a headless Chromium plays it to its
    end (a <video> reaches its duration) and it holds every frame shown."""
    import av

    video = tmp_path / "rec.mp4"
    run = run_cli("stream_classify.py", "--source", str(DEMO), "--output", str(video), "--no-display")
    assert run.returncode == 0, run.stderr[-2000:]
    assert "browsers will not play" not in run.stderr
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264" and stream.codec_context.pix_fmt == "yuv420p"
    assert count_frames(video) == parse_summary(run.stdout)["recorded"] == 300
    page = tmp_path / "play.html"
    page.write_text(
        "<!doctype html><title>loading</title><video id=v muted playsinline src='rec.mp4'></video><script>"
        "const v = document.getElementById('v');"
        "v.addEventListener('error', () => { document.title = 'error ' + (v.error && v.error.code); });"
        "v.addEventListener('ended', () => { document.title = ['ended', v.duration, v.currentTime,"
        " v.getVideoPlaybackQuality().totalVideoFrames].join(' '); });"
        "v.playbackRate = 4; v.play();</script>"
        "<img src='/hold'>"  # keeps the page loading (and Chromium up) in real time while the video plays
    )

    class Files(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(tmp_path), **kwargs)

        def do_GET(self):  # noqa: N802
            if self.path == "/hold":
                time.sleep(8)  # 10 s of video at 4x: 2.5 s
                self.send_response(204)
                self.end_headers()
                return
            super().do_GET()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Files)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/play.html"
        dom = headless_chromium("--autoplay-policy=no-user-gesture-required", "--dump-dom", url, budget_ms=1000).stdout
    finally:
        server.shutdown()
        server.server_close()
    title = re.search(r"<title>(.*?)</title>", dom).group(1)
    assert title.startswith("ended "), title
    duration, reached, decoded = (float(x) for x in title.split()[1:])
    assert duration == pytest.approx(10.0, abs=0.1) and reached == pytest.approx(duration, abs=0.05)
    assert decoded == 300  # the browser decoded every frame


@pytest.mark.slow
def test_browser_view_in_headless_chromium(shared, tmp_path):
    port = free_port()
    results = tmp_path / "r.jsonl"
    args = ["--source", str(DEMO), "--realtime", "--loop", "--results", str(results), "--serve", f"127.0.0.1:{port}"]
    process = start_cli("stream_classify.py", *args, "--no-display")
    try:
        wait_rows(results, 30)
        url = f"http://127.0.0.1:{port}/"
        sent_before = json.loads(_get(url + "status.json")[1])["frames_sent"]
        dom = headless_chromium("--dump-dom", url, budget_ms=15000)
        assert dom.returncode == 0, dom.stderr[-2000:]
        frame = int(re.search(r'data-frame="(\d+)"', dom.stdout).group(1))
        label = re.search(r'data-label="([^"]*)"', dom.stdout).group(1)
        changes = int(re.search(r'data-picture-changes="(\d+)"', dom.stdout).group(1))
        assert changes >= 1  # the picture the page shows changed while it was open
        assert json.loads(_get(url + "status.json")[1])["frames_sent"] - sent_before >= 5  # frames went to the browser
        rows = {row["frame"]: row["label"] for row in read_jsonl(results)}
        assert rows[frame] == label  # the page shows what the results file says for that frame
        assert f'id="label">{label}<' in dom.stdout

        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shot = ARTIFACTS / "browser_view.png"
        headless_chromium("--window-size=1280,800", f"--screenshot={shot}", url)
        image = cv2.imread(str(shot))
        assert image is not None and image.shape[:2] == (800, 1280)

        status, body = _get(url + "status.json")
        first = json.loads(body)["segments"][0]
        assert status == 200 and first["label"] == rows[0]
        labels = json.loads((ROOT / "models" / "sports22.labels.json").read_text())
        assert first["colour"] == label_colour(rows[0], labels)  # the timeline PNGs' colour
        assert palette_pixels(image, first["colour"]) > 100  # and the page's timeline draws it
    finally:
        process.terminate()
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err[-2000:]
    assert f"browser view: http://127.0.0.1:{port}/" in err


def test_the_page_timeline_runs_on_the_stream_clock_through_loops_in_a_rolling_window():
    """A --loop file's position starts again at 0; the page's strip must not (it used to break
    into overlapping blobs). Long runs keep only the last TIMELINE_WINDOW_S."""
    from vidclf.core.records import FrameResult

    labels = ["basketball", "tennis", "volleyball"]
    view = StreamView(labels=labels)
    image = np.zeros((8, 8, 3), np.uint8)
    fps, loop_s = 10, 30.0  # a 30 s clip played three times: tennis for 20 s, volleyball for 10 s
    for frame in range(int(3 * loop_s * fps)):
        t = frame / fps
        position = t % loop_s
        label = "tennis" if position < 20 else "volleyball"
        view.on_frame(FrameResult(frame, t, position, label, 0.9, [(label, 0.9)], 5.0, 10.0, image))
    segments = view.status()["segments"]
    assert [s["label"] for s in segments] == ["tennis", "volleyball"] * 3
    assert segments[0]["start_s"] == 0.0 and segments[-1]["end_s"] == pytest.approx(89.9)
    for before, after in zip(segments, segments[1:], strict=False):
        assert before["end_s"] == after["start_s"]  # no gaps, no overlaps, never back
    assert [s["start_s"] for s in segments] == pytest.approx([0, 20, 30, 50, 60, 80])
    assert all(s["colour"] == label_colour(s["label"], labels) for s in segments)

    # a long run: only the window is kept, its first segment cut at the window's edge
    t = 89.9
    while t < 89.9 + 2 * TIMELINE_WINDOW_S:
        t += 10.0
        label = "basketball" if int(t // 100) % 2 else "tennis"
        view.on_frame(FrameResult(int(t * fps), t, t, label, 0.9, [(label, 0.9)], 5.0, 10.0, image))
    status = view.status()
    assert status["segments"][0]["start_s"] == pytest.approx(t - TIMELINE_WINDOW_S)
    assert status["segments"][-1]["end_s"] == pytest.approx(t)
    assert len(status["segments"]) <= TIMELINE_WINDOW_S / 100 + 2


def _read_mjpeg(url: str, frames: int, into: list) -> None:
    with urllib.request.urlopen(url, timeout=10) as response:
        data = b""
        while data.count(b"\xff\xd9") < frames:
            chunk = response.read(65536)
            if not chunk:
                break
            data += chunk
    into.append(data.count(b"Content-Type: image/jpeg"))


@pytest.mark.slow
def test_several_viewers_and_a_stalled_one_never_slow_the_pipeline(shared, tmp_path):
    port = free_port()
    results = tmp_path / "r.jsonl"
    process = start_cli(
        "stream_classify.py",
        "--source",
        str(DEMO),
        "--realtime",
        "--loop",
        "--results",
        str(results),
        "--serve",
        f"127.0.0.1:{port}",
        "--no-display",
    )
    stalled = None
    try:
        wait_rows(results, 10)
        stalled = socket.create_connection(("127.0.0.1", port))
        # a viewer that asks for the stream and never reads it: its socket buffer fills up
        stalled.sendall(b"GET /stream.mjpg HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        counts: list[int] = []
        readers = [
            threading.Thread(target=_read_mjpeg, args=(f"http://127.0.0.1:{port}/stream.mjpg", 10, counts)) for _ in range(2)
        ]
        for reader in readers:
            reader.start()
        time.sleep(0.5)
        viewers = json.loads(_get(f"http://127.0.0.1:{port}/status.json")[1])["viewers"]
        for reader in readers:
            reader.join(30)
        assert counts == [10, 10] or (len(counts) == 2 and min(counts) >= 10), counts
        assert viewers == 3
        before = len(read_jsonl(results))
        time.sleep(2.0)
        after = len(read_jsonl(results))
        assert after - before >= 30  # a 30 FPS replay keeps being classified (2 s -> ~60 rows)
    finally:
        if stalled is not None:
            stalled.close()
        process.terminate()
        out, err = process.communicate(timeout=30)
    summary = parse_summary(out)
    assert process.returncode == 0 and summary["ended_by"] == "SIGTERM", err[-2000:]


def test_a_token_is_required_when_bound_beyond_localhost():
    sink = BrowserView("0.0.0.0:0")  # every interface: a token is made up
    try:
        assert sink.token and f"?token={sink.token}" in sink.url
        base = f"http://127.0.0.1:{sink.port}"
        assert _get(f"{base}/status.json")[0] == 403
        assert _get(f"{base}/status.json?token=wrong")[0] == 403
        status, body = _get(f"{base}/status.json?token={sink.token}")
        assert status == 200 and json.loads(body)["frames"] == 0
    finally:
        sink.close()
    local = BrowserView("127.0.0.1:0")
    try:
        assert local.token is None and _get(f"http://127.0.0.1:{local.port}/status.json")[0] == 200
    finally:
        local.close()


@pytest.mark.slow
def test_progress_bar_counts_the_file_frames_on_stderr():
    result = run_cli("stream_classify.py", "--source", str(DEMO), "--no-display", "--dashboard", "off", "--progress", "on")
    assert result.returncode == 0, result.stderr[-2000:]
    assert re.search(r"basketball_gym_shooting\.mp4 .* 300/300 frames .*ETA", result.stderr), result.stderr[-2000:]
    assert "300/300" not in result.stdout  # stdout keeps only the summary


def test_the_browser_view_port_answers_metrics_and_health_behind_its_token():
    """/metrics and /healthz on the --serve port: a stalled stream is 503 with its reason,
    a frame makes it healthy, and the counters follow the frames; the token guards them."""
    import numpy as np

    from vidclf.core.frame_queue import FrameQueue
    from vidclf.core.metrics import PipelineStats
    from vidclf.core.records import FrameResult
    from vidclf.core.states import SourceState
    from vidclf.sinks.metrics import RunMetrics

    metrics = RunMetrics()
    stats = PipelineStats()
    sink = metrics.stream("court1", stats, FrameQueue(4, drop_oldest=True), stall_s=5.0)
    view = BrowserView("127.0.0.1:0", "s3cret", {"court1": "rtsp://cam/1"}, metrics=metrics)
    base = f"http://127.0.0.1:{view.port}"
    try:
        assert _get(f"{base}/metrics")[0] == 403  # the view's token guards them too
        status, body = _get(f"{base}/healthz?token=s3cret")
        assert status == 503  # still opening: no frame yet
        stats.source_state = SourceState.STREAMING
        image = np.zeros((8, 8, 3), np.uint8)
        for i, label in enumerate(["tennis", "tennis", "uncertain"]):
            sink.on_frame(FrameResult(i, i / 30, None, label, 0.9, [], 4.0, 20.0, image, classified=i != 1))
        assert _get(f"{base}/healthz?token=s3cret") == (200, b"ok\n")
        status, body = _get(f"{base}/metrics?token=s3cret")
        text = body.decode()
        assert status == 200 and 'vidclf_frames_total{stream="court1"} 3.0' in text
        assert 'vidclf_frames_classified_total{stream="court1"} 2.0' in text
        assert 'vidclf_label{label="tennis",stream="court1"} 0.0' in text
        assert 'vidclf_label{label="uncertain",stream="court1"} 1.0' in text
        stats.source_state = SourceState.RECONNECTING
        status, _ = _get(f"{base}/healthz?token=s3cret")
        assert status == 503
    finally:
        view.close()


# -- hard frames ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_frames_the_model_is_unsure_about_are_kept_as_captured_with_their_sidecar(tmp_path):
    """A no-sport clip is mostly `uncertain`: a handful of its frames are kept (rate-limited,
    near-copies skipped), each the source's own picture without the overlay, with the
    prediction beside it; they are exactly the rows the results file calls doubtful."""
    clip = CLIPS / "generic_traffic_highway.mp4"  # 600 frames at 30 FPS: 20 s
    folder, results = tmp_path / "hard", tmp_path / "r.jsonl"
    run = run_cli(
        "stream_classify.py", "--source", str(clip), "--save-uncertain", str(folder), "--set",
        "output.save_uncertain_per_min=12", "--results", str(results), "--output", str(tmp_path / "o.avi"), "--no-display",
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    kept = sorted(folder.glob("*.jpg"))
    assert 2 <= len(kept) <= 12  # at most 12 in any minute of the stream (the clip is 20 s)
    rows = {row["frame"]: row for row in read_jsonl(results)}
    capture = cv2.VideoCapture(str(clip))
    for jpeg in kept:
        sidecar = json.loads(jpeg.with_suffix(".json").read_text())
        row = rows[sidecar["frame"]]
        assert row["classified"] and (row["label"] == "uncertain" or row["label"] != row["top_k"][0][0])
        assert (sidecar["label"], sidecar["top_k"], sidecar["wall_time"]) == (row["label"], row["top_k"], row["wall_time"])
        assert sidecar["stream"] == clip.stem and sidecar["source"] == str(clip)
        capture.set(cv2.CAP_PROP_POS_FRAMES, sidecar["frame"])
        original = capture.read()[1]
        saved = cv2.imread(str(jpeg))
        assert saved.shape == original.shape and cv2.PSNR(saved, original) > 30  # the picture as captured, no overlay
    frames = [json.loads(p.read_text())["frame"] for p in sorted(folder.glob("*.json"))]
    assert all(b - a >= 5 for a, b in zip(frames, frames[1:], strict=False))  # no run of near-identical frames


@pytest.mark.slow
def test_kept_frames_are_filed_from_the_review_page_into_folders_training_reads(tmp_path):
    """`vidclf review DIR`: the page (real Chromium) shows a kept frame with a button per
    class; a mouse click on a class and the `0` key (no sport) move frame and sidecar into the
    class folder -- `_none` for no sport -- and a short training run takes the folder as it is."""
    import signal
    import urllib.request

    from browser import Browser
    from servers import free_port

    from vidclf.config import TrainConfig
    from vidclf.core.records import FrameResult
    from vidclf.sinks.hard_frames import HardFrameSink
    from vidclf.training.trainer import train

    folder = tmp_path / "hard"
    sink = HardFrameSink(folder, "court1", "clip.mp4", per_minute=60)
    clips = sorted(CLIPS.glob("*.mp4"))[:6]
    for n, clip in enumerate(clips):  # six different scenes, each kept as doubtful
        image = cv2.VideoCapture(str(clip)).read()[1]
        i = 90 * n
        sink.on_frame(FrameResult(i, i / 30, i / 30, "uncertain", 0.4, [("tennis", 0.4)], 5.0, 20.0, image, frame=image))
    assert sink.saved == 6
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "vidclf", "review", str(folder), "--serve", f"127.0.0.1:{port}"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env(),
    )  # fmt: skip

    def post(name: str, label: str) -> tuple[int, dict]:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/file", json.dumps({"name": name, "class": label}).encode(), method="POST",
            headers={"Content-Type": "application/json"},
        )  # fmt: skip
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if _get(f"http://127.0.0.1:{port}/pending.json")[0] == 200:
                    break
            except urllib.error.URLError:  # not listening yet
                pass
            assert time.monotonic() < deadline and server.poll() is None, server.communicate()[1][-2000:]
            time.sleep(0.2)
        with Browser() as browser:
            page = browser.open(f"http://127.0.0.1:{port}/")
            page.wait_for("document.body.dataset.pending === '6'")
            assert page.evaluate("document.body.dataset.current") == "court1_0000000"
            # the frame is shown (the picture loads after the page names it: wait, as a user would)
            page.wait_for("document.getElementById('frame').naturalWidth > 0")
            classes = page.evaluate("[...document.querySelectorAll('button')].map(b => b.dataset.class)")
            assert "tennis" in classes and "no_sport" in classes  # a button per class of the model
            page.click('button[data-class="tennis"]')  # a mouse click
            page.wait_for("document.body.dataset.pending === '5'")
            assert page.evaluate("document.getElementById('message').textContent") == "filed under tennis/court1_0000000.jpg"
            assert page.evaluate("document.body.dataset.current") == "court1_0000090"
            page.press("0")  # the no-sport key
            page.wait_for("document.body.dataset.pending === '4'")
            assert page.evaluate("document.body.dataset.current") == "court1_0000180"
        # the page's POST checks what it is sent
        assert post("court1_0000090", "tennis")[0] == 409  # already filed
        assert post("../../etc/passwd", "tennis")[0] == 409 and post("court1_0000180", "curling")[0] == 409
        pending = json.loads(_get(f"http://127.0.0.1:{port}/pending.json")[1])
        assert [p["name"] for p in pending] == [f"court1_{i:07d}" for i in range(180, 540, 90)]
    finally:
        server.send_signal(signal.SIGINT)
        server.communicate(timeout=20)
    assert (folder / "tennis" / "court1_0000000.json").is_file()  # the sidecar went along
    assert (folder / "_none" / "court1_0000090.jpg").is_file()

    # a short training run takes the folder as it is: 3 classes x 4 photos, 4 more no-sport
    # photos (the background class needs held-out images of its own) and the two filed frames
    background = tmp_path / "background" / "_none"
    background.mkdir(parents=True)
    for photo in sorted((SHARED / "sports_extra" / "_none").glob("*.jpg"))[:4]:
        (background / photo.name).write_bytes(photo.read_bytes())
    cfg = TrainConfig(
        data_dir=str(SPORTS), classes=["football", "tennis", "weight_lifting"], max_images_per_class=4,
        val_fraction=0.25, test_fraction=0.25, batch_size=16, epochs=1, fine_tune_epochs=0, quantize=False,
        extra_data_dirs=[str(background.parent), str(folder)], background_class="no_sport",
        output_dir=str(tmp_path / "retrained"),
    )  # fmt: skip
    result = train(cfg, name="retrained")
    assert result.class_names == ["football", "tennis", "weight_lifting", "no_sport"]
    # photos: 2 train / 1 val / 1 test per class of four; each filed frame is a class's only
    # one in its folder, so both are training images
    assert result.metrics["images"]["train"] == 3 * 2 + 2 + 2
    assert result.metrics["images"]["val"] == 4 and result.metrics["images"]["test"] == 4
