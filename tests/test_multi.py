"""Several sources in one process: a real RTSP camera on 127.0.0.1 and real files, one
shared predictor, per-stream outputs; one stream's outage never disturbs the others."""

from __future__ import annotations

import re
import signal
import threading
import time

import cv2
import numpy as np
import pytest
from conftest import CLIPS, ROOT, assert_one_line_error, read_jsonl, run_cli, start_cli, wait_rows

from vidclf.core.frame_queue import FrameQueue
from vidclf.core.messages import END_OF_STREAM, Frame
from vidclf.core.metrics import PipelineStats
from vidclf.runtime.classifier import load_classifier
from vidclf.streaming.decoding import FrameLabeler, LabelDecoder
from vidclf.streaming.predictor import Channel, PredictorPool, SharedPredictor
from vidclf.streaming.smoothing import RollingMean

MODEL = ROOT / "models" / "sports22.tflite"

DEMO = ROOT / "models" / "demo" / "basketball_gym_shooting.mp4"
FENCING = CLIPS / "fencing_short_bout.mp4"
STREAM_RE = re.compile(
    r"source: (?P<source>.+)\nended by: (?P<ended_by>[^;]+); frames read (?P<read>\d+), shown (?P<shown>\d+), "
    r"classified (?P<classified>\d+), dropped (?P<dropped>\d+), reconnects (?P<reconnects>\d+)"
)


def streams(stdout: str) -> dict[str, dict]:
    """Per-stream summaries, by source."""
    return {
        m["source"]: {k: v if k in ("source", "ended_by") else int(v) for k, v in m.groupdict().items()}
        for m in STREAM_RE.finditer(stdout)
    }


def _rows(path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


@pytest.mark.slow
def test_a_camera_outage_disturbs_only_its_own_stream(tmp_path, rtsp_server, shared):
    pattern = str(tmp_path / "{name}.jsonl")
    args = ["--source", rtsp_server.url, "--source", str(DEMO), "--realtime", "--loop", "--results", pattern]
    proc = start_cli("stream_classify.py", *args, "--give-up-after", "60", "--no-display")
    camera, demo = tmp_path / "127.0.0.1_cam.jsonl", tmp_path / "basketball_gym_shooting.jsonl"
    try:
        wait_rows(camera, 60)
        wait_rows(demo, 60)
        rtsp_server.kill()  # the camera disappears
        time.sleep(1.0)
        before = _rows(demo)
        time.sleep(3.0)
        assert _rows(demo) - before >= 30  # the file stream went on (30 FPS) through the outage
        during = _rows(camera)
        rtsp_server.start()  # and the camera comes back
        wait_rows(camera, during + 30, timeout=60)
    finally:
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr[-2000:]
    summary = streams(stdout)
    cam = next(s for src, s in summary.items() if src.startswith("rtsp://"))
    file = next(s for src, s in summary.items() if src.endswith(".mp4"))
    assert cam["reconnects"] == 1 and file["reconnects"] == 0
    assert cam["ended_by"] == file["ended_by"] == "SIGTERM"
    assert cam["shown"] == _rows(camera) and file["shown"] == _rows(demo)  # every shown frame is logged
    assert "all 2 streams" in stdout


@pytest.mark.slow
def test_files_share_one_predictor_and_keep_their_own_labels(tmp_path, shared):
    pattern = str(tmp_path / "{name}.jsonl")
    run = run_cli("stream_classify.py", "--source", str(FENCING), "--source", str(DEMO), "--results", pattern, "--no-display")
    assert run.returncode == 0, run.stderr[-2000:]
    summary = streams(run.stdout)
    assert [s["shown"] for s in summary.values()] == [28, 300]
    for clip in (FENCING, DEMO):  # the same labels as a process of its own
        single = tmp_path / f"single-{clip.stem}.jsonl"
        alone = run_cli("stream_classify.py", "--source", str(clip), "--results", str(single), "--no-display")
        assert alone.returncode == 0
        together = read_jsonl(tmp_path / f"{clip.stem}.jsonl")
        assert [(r["frame"], r["label"]) for r in together] == [(r["frame"], r["label"]) for r in read_jsonl(single)]


@pytest.mark.slow
def test_sources_in_a_config_file_with_their_own_rate_and_outputs(tmp_path, shared):
    config = tmp_path / "streams.yaml"
    config.write_text(
        "sources:\n"
        f"  - {{name: court1, source: {DEMO}, classify_fps: 10, results: court1.jsonl}}\n"
        f"  - {{name: court2, source: {DEMO}, results: court2.jsonl}}\n"
    )
    run = run_cli("stream_classify.py", "--config", str(config), "--no-display")
    assert run.returncode == 0, run.stderr[-2000:]
    court1, court2 = read_jsonl(tmp_path / "court1.jsonl"), read_jsonl(tmp_path / "court2.jsonl")  # relative to the config
    assert len(court1) == len(court2) == 300
    assert sum(r["classified"] for r in court1) == 100 and sum(r["classified"] for r in court2) == 300


def test_several_sources_need_a_name_in_output_paths_and_a_display_for_their_window(tmp_path):
    two = ["--source", str(DEMO), "--source", str(DEMO)]
    assert_one_line_error(run_cli("stream_classify.py", *two, "--results", str(tmp_path / "r.jsonl")), "must contain {name}")
    assert_one_line_error(run_cli("stream_classify.py", *two, "--results", "-"), "cannot share standard output")
    assert_one_line_error(run_cli("stream_classify.py", *two, "--display"), "no display is available")


def test_the_dashboard_has_a_row_per_stream_and_totals():
    from rich.console import Console

    from vidclf.core.frame_queue import FrameQueue
    from vidclf.core.metrics import PipelineStats
    from vidclf.sinks.dashboard import render_streams

    rows = []
    for name, dropped, label in (("court1", 2, "tennis"), ("court2", 5, "uncertain")):
        stats, frames = PipelineStats(), FrameQueue(4, drop_oldest=True)
        stats.label, stats.source_state = label, "streaming"
        for i in range(4 + dropped):
            frames.put(i)
        rows.append((name, stats, frames))
    console = Console(record=True, width=160)
    console.print(render_streams(rows, "sports22.tflite"))
    text = console.export_text()
    lines = {line.split("│")[1].strip(): line for line in text.splitlines() if line.count("│") > 5}
    assert "tennis" in lines["court1"] and "uncertain" in lines["court2"]
    assert " 7 " in lines["all"]  # 2 + 5 frames dropped in all


def _channel(labels: list[str], stop: threading.Event, live: bool) -> Channel:
    """One stream's predictor side: a camera's small drop-oldest queue, or a file's blocking one."""
    frames = FrameQueue(4, drop_oldest=True) if live else FrameQueue(16, drop_oldest=False)
    labeler = FrameLabeler(RollingMean(4), LabelDecoder(labels))
    return Channel(frames, FrameQueue(16, drop_oldest=False), PipelineStats(), labeler, stop, live=live)


def test_the_shared_predictor_sleeps_until_a_frame_arrives(shared):
    """Several idle cameras: the predictor thread waits for a put instead of polling every
    queue every few milliseconds, and still answers a new frame at once."""

    class CountingPredictor(SharedPredictor):
        looks = 0

        def _take_all(self):
            self.looks += 1
            return super()._take_all()

    clf = load_classifier(MODEL)
    stop = threading.Event()
    channels = [_channel(clf.labels, stop, live=True) for _ in range(3)]
    predictor = CountingPredictor(clf, channels, stop)
    predictor.start()
    try:
        time.sleep(1.0)
        idle_looks = predictor.looks
        assert idle_looks <= 15, f"{idle_looks} looks at 3 empty queues in 1 s: polling"
        image = cv2.imread(str(sorted((shared / "sports" / "tennis").glob("*.jpg"))[0]))
        channels[1].frames.put(Frame(0, np.ascontiguousarray(image), time.monotonic()))
        prediction = channels[1].out.get(timeout=5)  # woken by the put, not by the next poll
        assert prediction.frame.index == 0 and prediction.classified
        assert len(channels[0].out) == len(channels[2].out) == 0
    finally:
        for channel in channels:
            channel.frames.put(END_OF_STREAM, force=True)
        predictor.join(timeout=5)
    assert not predictor.is_alive() and predictor.error is None


def test_a_predictor_pool_serves_each_stream_in_order_and_shares_the_long_ones(shared):
    """Two inference threads, each with its own interpreter, four file streams, two of which
    end after two frames: every stream's frames come out classified and in order, and once the
    short streams are done both threads serve the long ones (a stream is not pinned to the
    thread that served it first; with a fixed split, streams 0 and 2 would be on one thread)."""
    classifiers = [load_classifier(MODEL, threads=1) for _ in range(2)]
    stop = threading.Event()
    labels = classifiers[0].labels
    channels = [
        Channel(
            FrameQueue(64, drop_oldest=False),
            FrameQueue(64, drop_oldest=False),
            PipelineStats(),
            FrameLabeler(RollingMean(4), LabelDecoder(labels)),
            stop,
        )
        for _ in range(4)
    ]
    lengths = [30, 2, 30, 2]
    capture = cv2.VideoCapture(str(DEMO))
    images = [np.ascontiguousarray(capture.read()[1]) for _ in range(max(lengths))]
    capture.release()
    for channel, length in zip(channels, lengths, strict=True):
        for i, image in enumerate(images[:length]):
            channel.frames.put(Frame(i, image, time.monotonic(), i / 15))
        channel.frames.put(END_OF_STREAM, force=True)
    pool = PredictorPool(classifiers, channels, stop)
    pool.start()
    pool.join(60)
    assert not pool.is_alive() and pool.error is None
    for channel, length in zip(channels, lengths, strict=True):
        out = [channel.out.get(0) for _ in range(len(channel.out))]
        assert [p.frame.index for p in out[:-1]] == list(range(length)) and out[-1] is END_OF_STREAM
        assert all(p.classified for p in out[:-1])
    assert pool.frames_classified == sum(lengths)
    for worker in pool.workers:
        long_passes = worker.passes_by_channel[0] + worker.passes_by_channel[2]
        assert long_passes > 0, f"{worker.name} never served a long stream: {worker.passes_by_channel}"


def test_decoding_threads_one_each_and_ffmpegs_own_count_only_for_a_file_past_1080p(tmp_path):
    from vidclf.config import SourceConfig, StreamConfig, load_config, override
    from vidclf.pipeline.orchestrator import plan_streams

    def streams_from_sources(sources):
        return [StreamConfig(source=s) for s in sources]

    from vidclf.streaming.source import decoding_threads, open_source, parse_source

    # the rule vidclf batch applies to its workers too
    assert (decoding_threads(0, 1), decoding_threads(0, 2), decoding_threads(3, 2)) == (0, 1, 3)
    cfg = override(load_config(), {"sources": streams_from_sources([str(DEMO), str(FENCING)]), "display.window": "off"})
    plans = plan_streams(cfg)
    assert [p.cfg.source.decode_threads for p in plans] == [1, 1]
    assert plan_streams(override(cfg, {"source.decode_threads": 3}))[0].cfg.source.decode_threads == 3  # the user's choice stays
    one = override(cfg, {"sources": streams_from_sources([str(DEMO)])})
    assert [p.cfg.source.decode_threads for p in plan_streams(one)] == [0]  # alone: auto, as without sources:

    def threads_opened(path, decode_threads):
        capture, _info, _first = open_source(parse_source(str(path)), SourceConfig(decode_threads=decode_threads))
        threads = int(capture.get(cv2.CAP_PROP_N_THREADS))  # what FFmpeg really got
        capture.release()
        return threads

    big = tmp_path / "past_1080p.mp4"  # 2048 x 1152: more pixels than 1920 x 1080
    writer = cv2.VideoWriter(str(big), cv2.VideoWriter_fourcc(*"mp4v"), 30, (2048, 1152))
    for i in range(3):
        writer.write(np.full((1152, 2048, 3), 40 * i, np.uint8))
    writer.release()
    ffmpegs_own = int(cv2.VideoCapture(str(big), cv2.CAP_FFMPEG, []).get(cv2.CAP_PROP_N_THREADS))
    assert threads_opened(DEMO, 0) == 1  # auto: one thread for 240p
    assert threads_opened(big, 0) == ffmpegs_own  # auto: FFmpeg's own count past 1080p
    assert threads_opened(big, 1) == 1 and threads_opened(DEMO, 3) == 3  # a value set is kept


def test_one_browser_view_server_for_several_streams(tmp_path, shared):
    import json
    import urllib.error
    import urllib.request

    from servers import free_port

    def get(path: str) -> tuple[int, bytes, str]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
                return response.status, response.read(), response.url
        except urllib.error.HTTPError as exc:
            return exc.code, b"", ""

    port = free_port()
    pattern = str(tmp_path / "{name}.jsonl")
    sources = ["--source", str(DEMO), "--source", str(FENCING), "--realtime", "--loop"]
    process = start_cli("stream_classify.py", *sources, "--results", pattern, "--serve", f"127.0.0.1:{port}")
    try:
        wait_rows(tmp_path / "basketball_gym_shooting.jsonl", 10)
        wait_rows(tmp_path / "fencing_short_bout.jsonl", 10)
        status, index, _ = get("/")
        assert status == 200 and b'id="grid"' in index and b"status.json" in index  # the grid page
        everything = json.loads(get("/status.json")[1])
        assert set(everything) == {"basketball_gym_shooting", "fencing_short_bout"}
        assert {s["state"] for s in everything.values()} == {"streaming"}
        for name, clip in (("basketball_gym_shooting", DEMO), ("fencing_short_bout", FENCING)):
            status, page, url = get(f"/{name}")  # redirected to /<name>/: the page's links are relative
            assert status == 200 and url.endswith(f"/{name}/") and b"stream.mjpg" in page
            state = json.loads(get(f"/{name}/status.json")[1])
            assert state["source"].endswith(clip.name) and state["frames"] > 0
            rows = {row["frame"]: row["label"] for row in read_jsonl(tmp_path / f"{name}.jsonl")}
            assert state["label"] in set(rows.values())
            snapshot = cv2.imdecode(np.frombuffer(get(f"/{name}/snapshot.jpg")[1], np.uint8), cv2.IMREAD_COLOR)
            ok, first = cv2.VideoCapture(str(clip)).read()
            assert ok and snapshot.shape == first.shape  # this stream's own picture
        assert get("/nobody/status.json")[0] == 404
    finally:
        process.terminate()
        _out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err[-2000:]
    assert f"browser view: http://127.0.0.1:{port}/" in err


@pytest.mark.slow
def test_the_grid_page_shows_every_camera_and_which_one_is_gone(tmp_path, rtsp_frames):
    """Two real RTSP cameras in one process, the grid page in real Chromium: both tiles stream;
    one camera is killed, its tile says reconnecting while the other keeps updating."""
    import json
    import urllib.request

    from conftest import headless_chromium
    from servers import RtspServer, free_port

    def everything() -> dict:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/status.json", timeout=5) as response:
            return json.loads(response.read())

    def tiles() -> dict[str, tuple[str, str]]:
        dom = headless_chromium("--dump-dom", f"http://127.0.0.1:{port}/", budget_ms=4000).stdout
        found = re.findall(r'<div class="tile state-(\w+)" id="tile-([^"]+)">.*?<span class="frame">(\d+|-)</span>', dom, re.S)
        return {name: (state, frame) for state, name, frame in found}

    east, west = RtspServer(rtsp_frames, fps=30).start(), RtspServer(rtsp_frames, fps=30).start()
    port = free_port()
    pattern = str(tmp_path / "{name}.jsonl")
    args = ["--source", east.url, "--source", west.url, "--give-up-after", "0", "--read-timeout", "1.5"]
    process = start_cli("stream_classify.py", *args, "--results", pattern, "--serve", f"127.0.0.1:{port}", "--no-display")
    try:
        deadline = time.monotonic() + 30
        while True:  # the server starts once both cameras are open
            try:
                names = sorted(everything())
                break
            except OSError:
                assert time.monotonic() < deadline and process.poll() is None, "the browser view never started"
                time.sleep(0.3)
        assert len(names) == 2
        for name in names:
            wait_rows(tmp_path / f"{name}.jsonl", 30)
        both = tiles()
        assert set(both) == set(names) and {state for state, _ in both.values()} == {"streaming"}, both
        west.kill()  # the second camera goes away
        gone, alive = names[1], names[0]
        deadline = time.monotonic() + 20
        while everything()[gone]["state"] != "reconnecting" and time.monotonic() < deadline:
            time.sleep(0.3)
        before = everything()[alive]["frame"]
        after_kill = tiles()
        assert after_kill[gone][0] == "reconnecting", after_kill
        assert after_kill[alive][0] == "streaming" and int(after_kill[alive][1]) > before  # still updating
    finally:
        process.terminate()
        _out, err = process.communicate(timeout=30)
        east.stop()
        west.stop()
    assert process.returncode == 0, err[-2000:]
