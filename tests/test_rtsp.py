"""A real RTSP server on 127.0.0.1: streaming, loss and reconnection, giving up."""

import re
import signal
import threading
import time

import cv2
import pytest
from conftest import assert_one_line_error, count_frames, parse_summary, read_jsonl, run_cli, start_cli, wait_rows
from servers import RtspServer

from vidclf.config import SourceConfig
from vidclf.core.frame_queue import FrameQueue
from vidclf.core.metrics import PipelineStats
from vidclf.streaming.source import FrameGrabber, open_source, parse_source


def start_live(tmp_path, url, *extra):
    """stream_classify.py on ``url`` with recording and results; returns (process, video, results)."""
    video, results = tmp_path / "live.avi", tmp_path / "r.jsonl"
    proc = start_cli("stream_classify.py", "--source", url, "--output", str(video), "--results", str(results), *extra)
    return proc, video, results


def sigterm(proc) -> dict:
    """Stop the CLI as a service manager would; it must exit 0 and print its summary."""
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr[-2000:]
    return parse_summary(stdout)


@pytest.mark.slow
def test_rtsp_stream_is_classified_live_and_recorded(tmp_path, rtsp_server):
    proc, video, results = start_live(tmp_path, rtsp_server.url)
    wait_rows(results, 120)
    summary = sigterm(proc)
    assert summary["ended_by"] == "SIGTERM" and summary["reconnects"] == 0
    assert summary["recorded"] >= 120 and count_frames(video) == summary["recorded"]
    assert 25 <= summary["recording_fps"] <= 35  # the stream's 30 FPS, not a made-up default
    rows = read_jsonl(results)
    # frames arrive at the camera's rate, after the first second: the first ones can come in a
    # burst (what the server had buffered when the client connected, or a grabber catching up on
    # a busy machine): 36 FPS over a whole run once, in a full test run on 2 cores
    steady = [row for row in rows if row["time_s"] >= rows[0]["time_s"] + 1.0]
    assert 25 <= (len(steady) - 1) / (steady[-1]["time_s"] - steady[0]["time_s"]) <= 35
    p50 = sorted(r["latency_ms"] for r in rows)[len(rows) // 2]
    assert p50 < 200  # drop-oldest keeps the capture->overlay latency low


@pytest.mark.slow
def test_rtsp_loss_reconnects_resets_smoothing_and_resumes(tmp_path, rtsp_server):
    # no hysteresis or threshold: the label after the reconnect shows the restarted window alone
    proc, video, results = start_live(
        tmp_path, rtsp_server.url, "--give-up-after", "60", "--hysteresis", "0", "--uncertain-below", "0"
    )
    wait_rows(results, 60)
    rtsp_server.kill()  # the camera disappears mid-stream
    time.sleep(4)
    rows_during_outage = len(results.read_text().splitlines())
    rtsp_server.start()  # and comes back on the same address
    wait_rows(results, rows_during_outage + 60, timeout=60)
    summary = sigterm(proc)
    assert summary["reconnects"] == 1
    assert count_frames(video) == summary["recorded"]
    rows = read_jsonl(results)
    gaps = [(b["time_s"] - a["time_s"], i + 1) for i, (a, b) in enumerate(zip(rows, rows[1:], strict=False))]
    gap, first_after = max(gaps)
    assert gap >= 3.5  # the outage is visible in the timeline
    assert len(rows) - first_after >= 60  # and frames flow again afterwards
    after = rows[first_after]
    # smoothing restarted: the first smoothed label after the reconnect is that frame's own top-1
    assert after["label"] == after["top_k"][0][0]
    assert abs(after["confidence"] - after["top_k"][0][1]) < 1e-3


@pytest.mark.slow
def test_rtsp_source_that_never_returns_gives_up_and_keeps_the_recording(tmp_path, rtsp_server):
    proc, video, results = start_live(tmp_path, rtsp_server.url, "--give-up-after", "3")
    wait_rows(results, 45)
    rtsp_server.kill()
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "gave up" in errors[0] and rtsp_server.url in errors[0]
    summary = parse_summary(stdout)
    assert summary["ended_by"] == "error"
    assert summary["recorded"] >= 45 and count_frames(video) == summary["recorded"]
    assert len(read_jsonl(results)) == summary["recorded"]


def test_rtsp_wrong_path_on_a_live_server(rtsp_server):
    url = rtsp_server.url.replace("/cam", "/nosuch")
    assert_one_line_error(run_cli("stream_classify.py", "--source", url, timeout=60), "cannot open stream")


@pytest.mark.slow
def test_stalled_stream_is_detected_by_the_read_timeout(tmp_path, rtsp_server):
    """The server freezes (SIGSTOP): the TCP connection stays open but no frame comes. The
    grabber must not hang in read(): it times out, reconnects once the server thaws."""
    proc, _video, results = start_live(tmp_path, rtsp_server.url, "--read-timeout", "1.5", "--open-timeout", "2")
    wait_rows(results, 45)
    rtsp_server.pause()
    time.sleep(5)
    rows_during_stall = len(results.read_text().splitlines())
    rtsp_server.resume()
    wait_rows(results, rows_during_stall + 45, timeout=60)
    summary = sigterm(proc)
    assert summary["reconnects"] >= 1
    rows = read_jsonl(results)
    gap = max(b["time_s"] - a["time_s"] for a, b in zip(rows, rows[1:], strict=False))
    assert gap >= 2.0  # 5 s frozen, less what the socket buffers still delivered


def test_stall_is_declared_after_one_read_timeout(rtsp_server):
    """Declared once read_timeout_s passes without a frame, not after the frames the decoder
    held back have trickled out one timeout each (it used to take 3 timeouts)."""
    cfg = SourceConfig(read_timeout_s=1.5, open_timeout_s=2.0, give_up_after_s=0)
    spec = parse_source(rtsp_server.url)
    capture, info, first = open_source(spec, cfg)
    stop, stats = threading.Event(), PipelineStats()
    grabber = FrameGrabber(spec, capture, info, first, cfg, FrameQueue(4, drop_oldest=True), stop, stats)
    grabber.start()
    try:
        deadline = time.monotonic() + 20
        while stats.source_fps.count < 30 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert stats.source_state == "streaming"
        rtsp_server.pause()
        paused = time.monotonic()
        while stats.source_state != "reconnecting" and time.monotonic() < paused + 15:
            time.sleep(0.02)
        took = time.monotonic() - paused
    finally:
        rtsp_server.resume()
        stop.set()
        grabber.join(10)
    assert 1.0 <= took < 2.5, took  # one timeout (+ what the socket still buffered), not three


@pytest.mark.slow
def test_source_back_at_another_resolution_is_letterboxed_and_reported(tmp_path, rtsp_server, rtsp_frames):
    small = tmp_path / "small"
    small.mkdir()
    for jpg in sorted(rtsp_frames.glob("*.jpg"))[:60]:  # same clip, now a square 120x120 camera
        image = cv2.imread(str(jpg))
        h, w = image.shape[:2]
        square = image[:, (w - h) // 2 : (w - h) // 2 + h]
        cv2.imwrite(str(small / jpg.name), cv2.resize(square, (120, 120)))
    proc, video, results = start_live(tmp_path, rtsp_server.url, "--give-up-after", "60")
    wait_rows(results, 45)
    rtsp_server.kill()
    smaller = RtspServer(small, fps=30, port=rtsp_server.port)
    smaller.start()
    try:
        wait_rows(results, len(results.read_text().splitlines()) + 45, timeout=60)
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        smaller.stop()
    assert proc.returncode == 0, stderr[-2000:]
    summary = parse_summary(stdout)
    assert summary["reconnects"] == 1
    match = re.search(r"warning: the source came back at another resolution; (\d+) frames were letterboxed", stdout)
    assert match and int(match.group(1)) >= 45
    capture = cv2.VideoCapture(str(video))
    first = capture.read()[1]
    assert count_frames(video) == summary["recorded"]
    last = None
    for _ in range(summary["recorded"] - 1):
        last = capture.read()[1]
    assert last.shape == first.shape  # one size throughout, the first one
    h, w = last.shape[:2]
    # the square frames are centred with their aspect kept: black bars left and right, not stretched
    assert last[:, : w // 8].mean() < 3 and last[:, -w // 8 :].mean() < 3
    assert last[:, w // 2 - 20 : w // 2 + 20].mean() > 30


def _scrape(port: int) -> dict[tuple[str, tuple], float]:
    """/metrics read with prometheus_client's own parser: {(sample name, labels): value}."""
    import urllib.request

    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _health(port: int) -> tuple[int, str]:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except urllib.error.URLError:  # not listening yet (still starting)
        return 0, ""


@pytest.mark.slow
def test_metrics_move_during_a_live_run_and_healthz_turns_503_while_the_camera_is_gone(tmp_path, rtsp_server):
    from servers import free_port

    port = free_port()
    proc, _video, results = start_live(
        tmp_path, rtsp_server.url, "--metrics", f"127.0.0.1:{port}", "--name", "court1", "--give-up-after", "60",
        "--read-timeout", "1.5",
    )  # fmt: skip
    try:
        wait_rows(results, 60)
        stream = (("stream", "court1"),)
        first = _scrape(port)
        time.sleep(1.5)
        second = _scrape(port)
        assert second[("vidclf_frames_total", stream)] > first[("vidclf_frames_total", stream)] >= 60
        assert second[("vidclf_frames_classified_total", stream)] > 0
        assert second[("vidclf_latency_seconds_count", stream)] == second[("vidclf_frames_total", stream)]
        assert second[("vidclf_source_up", stream)] == 1.0 and second[("vidclf_fps", stream)] > 10
        shown = [labels for (name, labels), value in second.items() if name == "vidclf_label" and value == 1.0]
        assert len(shown) == 1  # one label shown at a time
        assert _health(port) == (200, "ok\n")

        rtsp_server.kill()  # the camera goes away: not healthy, and why
        deadline = time.monotonic() + 20
        while (status := _health(port))[0] == 200 and time.monotonic() < deadline:
            time.sleep(0.3)
        assert status[0] == 503 and status[1].startswith("court1: "), status
        assert _scrape(port)[("vidclf_source_up", stream)] == 0.0

        rtsp_server.start()  # back: healthy again, and the reconnect is counted
        deadline = time.monotonic() + 40
        while (status := _health(port))[0] != 200 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert status == (200, "ok\n")
        assert _scrape(port)[("vidclf_reconnects", stream)] >= 1
    finally:
        summary = sigterm(proc)
    assert summary["reconnects"] >= 1


@pytest.mark.slow
def test_give_up_after_0_waits_for_a_camera_that_is_down_at_start(tmp_path, rtsp_frames):
    """--give-up-after 0: a camera that is not there at start is waited for (unhealthy,
    state 'waiting'), then classified once it comes up; without it, the same start is one error line."""
    from servers import free_port

    camera = RtspServer(rtsp_frames, fps=30)  # not started: nothing answers on its port yet
    refused = run_cli("stream_classify.py", "--source", camera.url, "--no-display", "--open-timeout", "2")
    assert_one_line_error(refused, "cannot open stream")
    port = free_port()
    proc, _video, results = start_live(
        tmp_path, camera.url, "--give-up-after", "0", "--metrics", f"127.0.0.1:{port}", "--name", "gate",
        "--open-timeout", "2", "--no-display",
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while (status := _health(port))[0] != 503 and time.monotonic() < deadline:
            time.sleep(0.3)  # the metrics port opens once start-up is done
        assert status[0] == 503 and status[1].startswith("gate: waiting"), status
        time.sleep(3)
        assert proc.poll() is None and not results.read_text().strip()  # still waiting, nothing made up
        camera.start()
        wait_rows(results, 30, timeout=60)
        assert _health(port) == (200, "ok\n")
    finally:
        summary = sigterm(proc)
        camera.stop()
    assert summary["ended_by"] == "SIGTERM" and summary["reconnects"] == 0 and summary["shown"] >= 30
