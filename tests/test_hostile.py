"""Peers, callbacks, signals and inputs that try to take a run down (issue: reliability, round
three). Every peer is real and local: mosquitto killed and restarted, HTTP receivers that answer
garbage, endless bodies or redirects, real signals to a real batch, half-open sockets to the real
browser view. Every server listens on 127.0.0.1 and is started and stopped here."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import cv2
import pytest
from conftest import (
    CLIPS,
    ROOT,
    Mosquitto,
    assert_one_line_error,
    cli_env,
    count_frames,
    parse_summary,
    read_jsonl,
    run_cli,
    signal_and_wait,
    start_cli,
    wait_rows,
)
from servers import free_port

from vidclf.redact import redact

MONTAGE = CLIPS / "montage_lifting_football_tennis.mp4"
FENCING = CLIPS / "fencing_short_bout.mp4"  # 28 frames
DEMO = ROOT / "models" / "demo" / "basketball_gym_shooting.mp4"


# -- MQTT: a broker that is absent at start, then killed and restarted ---------------------------


def _subscribe(port: int, topic: str, received: list):
    import paho.mqtt.client as mqtt

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    client.on_message = lambda _c, _u, msg: received.append((msg.topic, msg.payload))
    client.on_connect = lambda c, *_: c.subscribe(topic, qos=1)
    client.reconnect_delay_set(0.2, 0.5)
    client.connect_async("127.0.0.1", port)
    client.loop_start()
    return client


def _wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.mark.slow
def test_mqtt_broker_absent_at_start_then_killed_and_restarted(shared, tmp_path):
    broker = Mosquitto(tmp_path)  # not started yet: the run begins without a broker
    results = tmp_path / "r.jsonl"
    args = ["--source", str(MONTAGE), "--realtime", "--results", str(results), "--mqtt", f"127.0.0.1:{broker.port}"]
    proc = start_cli("stream_classify.py", *args, "--name", "court#1", "--no-display")
    received: list[tuple[str, bytes]] = []
    subscriber = None
    try:
        wait_rows(results, 30)  # classifying, no broker anywhere
        broker.start()
        subscriber = _subscribe(broker.port, "vidclf/#", received)
        _wait_for(lambda: ("vidclf/available", b"online") in received, 15, "the run to reach the broker")
        broker.stop(signal.SIGKILL)  # the broker dies mid-run
        time.sleep(1.5)
        assert proc.poll() is None, proc.communicate()[1][-2000:]
        received.clear()
        broker.start()  # ... and comes back on the same port
        stdout, stderr = proc.communicate(timeout=90)
        _wait_for(lambda: ("vidclf/available", b"offline") in received, 10, "the last messages")
    finally:
        if proc.poll() is None:
            proc.kill()
        if subscriber is not None:
            subscriber.loop_stop()
            subscriber.disconnect()
        broker.stop()
    assert proc.returncode == 0, stderr[-2000:]
    assert "Traceback" not in stderr
    # a row for every frame shown (a paced file drops frames like a camera when the CPU is
    # short), and the summary beside it
    summary = parse_summary(stdout)
    assert len(read_jsonl(results)) == summary["shown"] and summary["shown"] + summary["dropped"] == 540
    segments = json.loads(Path(f"{results}.summary.json").read_text())["segments"]
    events = [json.loads(p) for t, p in received if t == "vidclf/events"]
    last = segments[-1]
    # the run's last event, published after the restart, reached the restarted broker
    assert events[-1]["label"] == last["label"]
    assert events[-1]["type"] == "segment_end" and events[-1]["last_frame"] == last["last_frame"]
    # '#' in the stream's name became a safe topic level, not a wildcard
    assert all(e["camera"] == "court_1" for e in events)


def test_mqtt_topic_prefix_with_a_wildcard_is_one_error_line():
    result = run_cli("stream_classify.py", "--source", str(DEMO), "--mqtt", "127.0.0.1:1", "--mqtt-topic", "cams/#")
    assert_one_line_error(result, "events.mqtt_topic")


@pytest.mark.slow
def test_mqtt_user_and_password_reach_a_protected_broker_and_are_never_printed(shared, tmp_path):
    broker = Mosquitto(tmp_path, passwords={"cam": "s3cr3t-pw"}).start()
    received: list[tuple[str, bytes]] = []
    import paho.mqtt.client as mqtt

    watcher = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    watcher.username_pw_set("cam", "s3cr3t-pw")
    watcher.on_message = lambda _c, _u, msg: received.append((msg.topic, msg.payload))
    watcher.connect("127.0.0.1", broker.port)
    watcher.subscribe("vidclf/#", qos=1)
    watcher.loop_start()
    try:
        address = f"cam@127.0.0.1:{broker.port}"  # the password comes from the environment
        run = run_cli(
            "stream_classify.py", "--source", str(FENCING), "--mqtt", address, "-v", env=cli_env(VIDCLF_MQTT_PASSWORD="s3cr3t-pw")
        )
        time.sleep(0.5)
        wrong = run_cli("stream_classify.py", "--source", str(FENCING), "--mqtt", f"cam:wrong-pw@127.0.0.1:{broker.port}", "-v")
    finally:
        watcher.loop_stop()
        watcher.disconnect()
        broker.stop()
    assert run.returncode == 0, run.stderr[-2000:]
    assert any(t == "vidclf/events" for t, _ in received)
    assert wrong.returncode == 0  # a refused broker is a warning, not the end of the run
    assert "refused" in wrong.stderr
    for output in (run.stdout, run.stderr, wrong.stdout, wrong.stderr):
        assert "s3cr3t-pw" not in output and "wrong-pw" not in output


@pytest.mark.slow
def test_mqtts_with_a_ca_file_and_home_assistant_discovery_that_a_late_subscriber_reads(shared, tmp_path):
    """A TLS-only broker with a certificate from our own CA: the run connects over mqtts://
    with --mqtt-ca; a subscriber that arrives after the run has ended still reads the retained
    discovery config, the label (the sensor's state) and its attributes, as Home Assistant would."""
    import paho.mqtt.client as mqtt
    from conftest import make_tls_files

    ca, cert, key = make_tls_files(tmp_path)
    broker = Mosquitto(tmp_path, tls=(cert, key)).start()
    try:
        address = f"mqtts://127.0.0.1:{broker.port}"
        untrusted = run_cli("stream_classify.py", "--source", str(FENCING), "--mqtt", address, "--name", "piste 2")
        results = tmp_path / "r.jsonl"
        run = run_cli(
            "stream_classify.py", "--source", str(FENCING), "--mqtt", address, "--mqtt-ca", str(ca), "--mqtt-discovery",
            "--name", "piste 2", "--results", str(results),
        )  # fmt: skip
        assert run.returncode == 0, run.stderr[-2000:]
        retained: dict[str, bytes] = {}
        late = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        late.tls_set(ca_certs=str(ca))
        late.on_message = lambda _c, _u, msg: retained.__setitem__(msg.topic, msg.payload)
        late.connect("127.0.0.1", broker.port)
        late.subscribe([("homeassistant/#", 1), ("vidclf/#", 1)])
        late.loop_start()
        deadline = time.monotonic() + 10
        while len(retained) < 4 and time.monotonic() < deadline:
            time.sleep(0.1)
        late.loop_stop()
        late.disconnect()
    finally:
        broker.stop()
    # no CA for the broker's certificate: warned, and the run went on
    assert untrusted.returncode == 0 and "mqtt: cannot connect to the broker at mqtts://127.0.0.1" in untrusted.stderr
    config = json.loads(retained["homeassistant/sensor/vidclf_piste_2/config"])
    assert config["state_topic"] == "vidclf/piste_2/label" and config["availability_topic"] == "vidclf/available"
    assert config["json_attributes_topic"] == "vidclf/piste_2/attributes" and config["unique_id"] == "vidclf_piste_2"
    last = json.loads((tmp_path / "r.jsonl.summary.json").read_text())["segments"][-1]
    assert retained["vidclf/piste_2/label"].decode() == last["label"]
    attributes = json.loads(retained["vidclf/piste_2/attributes"])
    assert 0 <= attributes["confidence"] <= 1 and len(attributes["top_k"]) == 3 and attributes["wall_time"].endswith("Z")
    assert retained["vidclf/available"] == b"offline"  # the run has ended


# -- webhook receivers that do not play by the rules ---------------------------------------------


class HostileReceiver:
    """A TCP server on 127.0.0.1 that answers every request in one of these ways:
    ``garbage`` (not HTTP), ``endless`` (a 200 whose body never ends), ``redirect`` (302 to
    another path). It records each request line."""

    def __init__(self, mode: str):
        self.mode, self.requests = mode, []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/hook"
        self.closed = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self.closed.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            try:
                head = conn.recv(65536).split(b"\r\n")[0].decode(errors="replace")
                self.requests.append(head)
                if self.mode == "garbage":
                    conn.sendall(b"SSH-2.0-OpenSSH_9.2 this is no http\r\n\r\n")
                elif self.mode == "redirect":
                    conn.sendall(b"HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\nContent-Length: 0\r\n\r\n")
                else:
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100000000000\r\n\r\n")
                    chunk = b"x" * 65536
                    deadline = time.monotonic() + 20
                    while not self.closed.is_set() and time.monotonic() < deadline:
                        conn.sendall(chunk)
            except OSError:
                pass

    def close(self) -> None:
        self.closed.set()
        self.sock.close()


def _peak_rss_mb(pid: int, proc: subprocess.Popen) -> float:
    peak = 0.0
    while proc.poll() is None:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    peak = max(peak, int(line.split()[1]) / 1024)
        except OSError:
            break
        time.sleep(0.05)
    return peak


@pytest.mark.parametrize("mode", ["garbage", "endless", "redirect"])
@pytest.mark.slow
def test_a_hostile_webhook_receiver_never_takes_the_run_or_the_sender_down(shared, tmp_path, mode):
    receiver = HostileReceiver(mode)
    config = tmp_path / "c.yaml"
    config.write_text("events:\n  webhook_timeout_s: 1.0\n  webhook_retries: 1\n")
    results = tmp_path / "r.jsonl"
    try:
        proc = start_cli(
            "stream_classify.py", "--config", str(config), "--source", str(MONTAGE), "--results", str(results),
            "--webhook", receiver.url, "--no-display",
        )  # fmt: skip
        peak = _peak_rss_mb(proc.pid, proc)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        receiver.close()
    assert proc.returncode == 0, stderr[-2000:]
    assert "Traceback" not in stderr
    assert len(read_jsonl(results)) == 540
    segments = json.loads(Path(f"{results}.summary.json").read_text())["segments"]
    # every event (a start and an end per segment) was tried: the sender outlived every bad answer
    assert len(receiver.requests) >= 2 * len(segments), receiver.requests
    assert all(r.startswith("POST /hook ") for r in receiver.requests), receiver.requests  # a 302 is not followed
    if mode == "endless":  # a 200 is a delivery; only the first few KB of its body are read
        assert peak < 800, f"peak RSS {peak:.0f} MB: the endless body was read"
    else:  # garbage and redirects are failures, never counted as sent
        assert "webhook" in stderr and ": 0 events sent, " in stderr, stderr[-2000:]


def test_a_webhook_url_with_credentials_and_no_port_authenticates_and_never_shows_the_password(shared):
    import http.server

    seen: list[tuple[str, str | None]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            self.rfile.read(int(self.headers["Content-Length"]))
            seen.append((self.path, self.headers.get("Authorization")))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://hook:p%40ss-w0rd@127.0.0.1:{server.server_address[1]}/hook?token=t0ken"
        run = run_cli("stream_classify.py", "--source", str(FENCING), "--webhook", url, "-v")
    finally:
        server.shutdown()
        server.server_close()
    assert run.returncode == 0, run.stderr[-2000:]
    import base64

    assert seen and all(auth == "Basic " + base64.b64encode(b"hook:p@ss-w0rd").decode() for _, auth in seen), seen
    assert all(path == "/hook?token=t0ken" for path, _ in seen)
    assert "p%40ss-w0rd" not in run.stdout + run.stderr and "t0ken" not in run.stdout + run.stderr


def test_a_webhook_url_with_a_bad_port_and_a_password_is_one_line_without_the_password():
    result = run_cli("stream_classify.py", "--source", str(DEMO), "--webhook", "http://u:hunter2@host:port/x")
    line = assert_one_line_error(result, "events.webhook")
    assert "hunter2" not in result.stderr, line


# -- the Python API: a callback that raises ------------------------------------------------------


def test_a_raising_callback_reaches_the_caller_after_every_output_is_finalised(shared, tmp_path):
    import vidclf

    video, results = tmp_path / "out.mp4", tmp_path / "r.jsonl"

    def on_frame(result):
        if result.frame_index == 60:
            raise ZeroDivisionError("the caller's own bug")

    with pytest.raises(ZeroDivisionError, match="the caller's own bug"):
        vidclf.run(str(MONTAGE), settings={"output.video": str(video), "output.results": str(results)}, on_frame=on_frame)
    # while the caller lives on, the recording is already playable and the summary written
    assert count_frames(video) >= 60
    assert len(read_jsonl(results)) >= 60
    assert json.loads(Path(f"{results}.summary.json").read_text())["segments"]


def test_an_unknown_api_setting_is_a_vidclf_error():
    import vidclf
    from vidclf.errors import VidclfError

    with pytest.raises(VidclfError, match="unknown setting 'smoothing.sise'"):
        vidclf.run(str(FENCING), settings={"smoothing.sise": 8})


# -- one error line instead of a traceback -------------------------------------------------------


@pytest.mark.parametrize(
    "text, fragment",
    [
        ('{"clips": []}', "'clips' must map"),
        ('{"clips": {"fencing_short_bout.mp4": null}}', "entry must be an object"),
        ('{"clips": {"fencing_short_bout.mp4": {"class": 3}}}', "class must be a class name"),
        ('{"clips": {"fencing_short_bout.mp4": {"class": Infinity}}}', "Infinity is not JSON"),
        pytest.param("[" * 5000 + "]" * 5000, "RecursionError", id="deep-nesting"),
        ('{"clips": {"a.mp4": {"class": "x", "segments": [{"label": "x", "first_frame": 5, "last_frame": 1}]}}}', "segments[0]"),
    ],
)
def test_malformed_ground_truth_is_one_error_line(tmp_path, text, fragment):
    (tmp_path / "labels.json").write_text(text)
    result = run_cli("evaluate.py", "--clips", str(tmp_path), "--out", str(tmp_path / "out"))
    assert_one_line_error(result, fragment)


@pytest.mark.slow
def test_exporting_a_file_that_is_not_a_model_says_so(tmp_path):
    fake = tmp_path / "model.keras"
    fake.write_text("not a model")
    result = subprocess.run(
        [sys.executable, "-m", "vidclf", "export", str(fake), "--format", "onnx"], cwd=ROOT, capture_output=True, text=True,
        env=cli_env(), timeout=120,
    )  # fmt: skip
    assert_one_line_error(result, "is not a Keras model")


def test_batch_out_that_is_a_file_is_one_error_line(tmp_path):
    out = tmp_path / "out"
    out.write_text("mine")
    result = subprocess.run(
        [sys.executable, "-m", "vidclf", "batch", str(FENCING), "--out", str(out)], cwd=ROOT, capture_output=True, text=True,
        env=cli_env(), timeout=120,
    )  # fmt: skip
    assert_one_line_error(result, "is a file, not a folder")
    assert out.read_text() == "mine"


def test_closed_stdout_and_stderr(shared, tmp_path):
    env = cli_env()
    script = str(ROOT / "stream_classify.py")
    ok = subprocess.run(
        f'"{sys.executable}" "{script}" --source "{FENCING}" --results "{tmp_path / "r.jsonl"}" >&- 2>"{tmp_path / "err"}"',
        shell=True, cwd=ROOT, env=env, timeout=120,
    )  # fmt: skip
    assert ok.returncode == 0, (tmp_path / "err").read_text()[-2000:]
    assert "Traceback" not in (tmp_path / "err").read_text()
    assert len(read_jsonl(tmp_path / "r.jsonl")) == 28
    bad = subprocess.run(f'"{sys.executable}" "{script}" --source /no/such.mp4 2>&-', shell=True, cwd=ROOT, env=env, timeout=120)
    assert bad.returncode == 2


# -- signals in the archive mode -----------------------------------------------------------------


@pytest.fixture(scope="module")
def archive(tmp_path_factory, shared) -> Path:
    folder = tmp_path_factory.mktemp("archive")
    for name in ("weightlifting_snatch_child_gym.mp4", "soccer_goalkeeper_training.mp4", "tennis_practice_portrait.mp4"):
        (folder / name).symlink_to(CLIPS / name)
    return folder


@pytest.mark.slow
@pytest.mark.parametrize("workers", ["1", "2"])
def test_ctrl_c_stops_a_batch_at_once_and_the_interrupted_video_is_redone(archive, tmp_path, workers):
    out = tmp_path / "out"
    # the .keras model (10-27 ms a frame): a video is surely still running when the signal comes
    cmd = [sys.executable, "-m", "vidclf", "batch", str(archive), "--out", str(out), "--workers", workers]
    cmd += ["--model", str(ROOT / "models" / "sports22.keras")]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env())
    try:
        wait_rows(out / "soccer_goalkeeper_training.jsonl", 20, timeout=90)
        _, stderr, took = signal_and_wait(proc, signal.SIGINT)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, stderr[-2000:]
    assert took < 3.0, took
    assert "Traceback" not in stderr
    summary = json.loads((out / "batch_summary.json").read_text())
    assert summary["interrupted"] == "SIGINT"
    statuses = {r["name"]: r["status"] for r in summary["results"]}
    assert statuses["soccer_goalkeeper_training"] == "interrupted"
    assert not (out / "soccer_goalkeeper_training.done.json").exists()
    # resumed (with the fast default model): the interrupted video is classified again, to its end
    again = subprocess.run(cmd[:-2], cwd=ROOT, capture_output=True, text=True, env=cli_env(), timeout=300)
    assert again.returncode == 0, again.stderr[-2000:]
    resumed = {r["name"]: r for r in json.loads((out / "batch_summary.json").read_text())["results"]}
    assert resumed["soccer_goalkeeper_training"]["status"] == "done"
    assert resumed["soccer_goalkeeper_training"]["frames"] == 381


def test_a_batch_never_replaces_a_file_it_did_not_write(tmp_path, shared):
    (tmp_path / "match.mp4").write_bytes(FENCING.read_bytes())  # a copy: a link would be named after its target
    mine = tmp_path / "match.jsonl"
    mine.write_text('{"my": "notes"}\n')
    result = subprocess.run(
        [sys.executable, "-m", "vidclf", "batch", str(tmp_path), "--out", str(tmp_path)], cwd=ROOT, capture_output=True,
        text=True, env=cli_env(), timeout=120,
    )  # fmt: skip
    assert_one_line_error(result, "refusing to replace", "match.jsonl")
    assert mine.read_text() == '{"my": "notes"}\n'


def test_a_file_that_decodes_far_fewer_frames_than_it_declares_is_not_done(tmp_path, shared):
    clip = tmp_path / "cut.avi"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 25, (160, 120))
    capture = cv2.VideoCapture(str(CLIPS / "weightlifting_snatch_child_gym.mp4"))
    for _ in range(200):
        writer.write(cv2.resize(capture.read()[1], (160, 120)))
    writer.release()
    data = clip.read_bytes()
    clip.write_bytes(data[: len(data) // 5])  # the header still declares 200 frames
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-m", "vidclf", "batch", str(clip), "--out", str(out), "--workers", "1"], cwd=ROOT,
        capture_output=True, text=True, env=cli_env(), timeout=120,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr[-2000:]
    (entry,) = json.loads((out / "batch_summary.json").read_text())["results"]
    assert entry["status"] == "failed" and "of the 200 frames the file declares" in entry["error"], entry
    assert not (out / "cut.done.json").exists()


# -- secrets --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, secret",
    [
        ("rtsp://admin:pa/ss@cam.local/live", "pa/ss"),
        ("alice:s3cr3t@127.0.0.1:1883", "s3cr3t"),
        ("http://cam/img.cgi?loginuse=admin&loginpas=hunter2", "hunter2"),
        ("http://cam/x?user=a&pass=hunter3", "hunter3"),
        ("https://h/x.m3u8?token=abc123&q=1", "abc123"),
    ],
)
def test_redaction_hides_every_form_of_secret(text, secret):
    assert secret not in redact(text)


def test_an_rtsp_url_with_a_bad_port_is_one_error_line_without_the_password():
    result = run_cli("stream_classify.py", "--source", "rtsp://admin:hunter2@127.0.0.1:port/cam", "--no-display")
    assert_one_line_error(result, "cannot open stream")
    assert "hunter2" not in result.stdout + result.stderr


def test_an_empty_serve_token_is_refused():
    result = run_cli("stream_classify.py", "--source", str(DEMO), "--serve", f"0.0.0.0:{free_port()}", "--serve-token", "")
    assert_one_line_error(result, "serve.token is empty")


@pytest.mark.slow
def test_ctrl_c_while_several_sources_start_never_prints_a_password():
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    url = f"rtsp://admin:hunter2@127.0.0.1:{silent.getsockname()[1]}/cam?password=hunter3"
    try:
        proc = start_cli("stream_classify.py", "--source", url, "--source", str(DEMO), "--open-timeout", "60")
        time.sleep(4)  # the model is loaded, the camera is opening
        stdout, stderr, _took = signal_and_wait(proc, signal.SIGINT)
    finally:
        silent.close()
    assert proc.returncode == 130, stderr[-2000:]
    assert "ended by: SIGINT" in stdout
    assert "hunter2" not in stdout + stderr and "hunter3" not in stdout + stderr


# -- the browser view: Host check, half-open connections ----------------------------------------


def _get(port: int, path: str = "/status.json", host: str | None = None, timeout: float = 5.0) -> int:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Host": host} if host else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.mark.slow
def test_browser_view_refuses_foreign_host_names_and_survives_half_open_connections():
    from vidclf.sinks.serve import MAX_CONNECTIONS_PER_CLIENT, REQUEST_TIMEOUT_S, BrowserView

    sink = BrowserView("127.0.0.1:0", sources={"test": "test"})
    idle: list[socket.socket] = []
    try:
        assert _get(sink.port) == 200
        assert _get(sink.port, host=f"localhost:{sink.port}") == 200
        assert _get(sink.port, host="attacker.example") == 421  # DNS rebinding: the page's Host is the attacker's
        threads_before = threading.active_count()
        for _ in range(400):  # half-open: connect, never send a request
            try:
                idle.append(socket.create_connection(("127.0.0.1", sink.port), timeout=2))
            except OSError:
                break
        assert threading.active_count() - threads_before <= MAX_CONNECTIONS_PER_CLIENT + 2
        # the places free up once the idle clients time out, before any authentication
        time.sleep(REQUEST_TIMEOUT_S + 1.0)
        started = time.monotonic()
        assert _get(sink.port) == 200
        assert time.monotonic() - started < 2.0
    finally:
        for s in idle:
            s.close()
        sink.close()


def test_serve_on_a_busy_port_leaves_no_output_behind(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        results = tmp_path / "r.jsonl"
        first = run_cli("stream_classify.py", "--source", str(FENCING), "--results", str(results), "--serve", f"127.0.0.1:{port}")
    assert_one_line_error(first, "cannot serve")
    assert not results.exists() and not Path(f"{results}.summary.json").exists()


# -- several sources: outputs against every stream's inputs; names as paths ----------------------


def test_one_streams_recording_may_not_overwrite_another_streams_source(tmp_path, shared):
    a, b = tmp_path / "a.mp4", tmp_path / "b.mp4"
    a.write_bytes(FENCING.read_bytes())
    b.write_bytes((CLIPS / "volleyball_indoor_practice.mp4").read_bytes())
    before = b.read_bytes()
    config = tmp_path / "c.yaml"
    config.write_text(f"sources:\n  - source: {a}\n    video: {b}\n  - source: {b}\n")
    result = run_cli("stream_classify.py", "--config", str(config), "--no-display", "--overwrite")
    assert_one_line_error(result, "same file as the source video of b")
    assert b.read_bytes() == before


@pytest.mark.slow
def test_a_stream_name_cannot_lead_outside_the_output_folder(tmp_path, shared):
    outputs = tmp_path / "outputs"
    outputs.mkdir()
    config = tmp_path / "c.yaml"
    config.write_text(
        f"sources:\n  - source: {FENCING}\n    name: ../../escaped\n  - source: {DEMO}\n"
        f"output:\n  results: {outputs}/{{name}}.jsonl\n"
    )
    result = run_cli("stream_classify.py", "--config", str(config), "--no-display")
    assert result.returncode == 0, result.stderr[-2000:]
    assert (outputs / "escaped.jsonl").exists()
    assert not list(tmp_path.parent.glob("escaped*")) and not list(tmp_path.glob("escaped*"))


# -- a recording's frames are counted without FFmpeg's process-wide lock --------------------------


@pytest.mark.parametrize("suffix", [".avi", ".mp4", ".mov"])
def test_a_finished_recording_is_counted_from_its_own_index(tmp_path, suffix):
    from vidclf.sinks.record import CODECS, indexed_frames

    path = tmp_path / f"rec{suffix}"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*CODECS[suffix]), 25, (64, 48))
    for i in range(37):
        writer.write(cv2.merge([cv2.UMat(48, 64, cv2.CV_8U, i).get()] * 3))
    writer.release()
    assert indexed_frames(path) == count_frames(path) == 37
    cut = tmp_path / f"cut{suffix}"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])  # the index is written last: a cut file has none
    assert indexed_frames(cut) is None


# -- a frozen camera must not hold up the others (FFmpeg's process-wide open lock) ---------------


@pytest.mark.slow
def test_a_frozen_camera_does_not_hold_up_another_cameras_reconnect(tmp_path, rtsp_frames):
    from servers import RtspServer

    frozen, flaky = RtspServer(rtsp_frames, fps=30).start(), RtspServer(rtsp_frames, fps=30).start()
    config = tmp_path / "c.yaml"
    config.write_text(
        f"sources:\n  - source: {frozen.url}\n    name: frozen\n  - source: {flaky.url}\n    name: flaky\n"
        f"output:\n  results: {tmp_path}/{{name}}.jsonl\n  video: {tmp_path}/{{name}}.avi\n"
        "source:\n  open_timeout_s: 20\n  read_timeout_s: 2\n  give_up_after_s: 0\n"
    )
    proc = start_cli("stream_classify.py", "--config", str(config), "--no-display")
    try:
        wait_rows(tmp_path / "frozen.jsonl", 30)
        wait_rows(tmp_path / "flaky.jsonl", 30)
        frozen.pause()  # connections stay open, nothing answers: its reconnects would wait 20 s each
        time.sleep(4)  # the frozen camera's stream has stalled and it is re-opening
        flaky.kill()
        time.sleep(1)
        flaky.start()  # the other camera is back at once: its reconnect must not wait for the frozen one
        before = len(read_jsonl(tmp_path / "flaky.jsonl"))
        wait_rows(tmp_path / "flaky.jsonl", before + 30, timeout=30)
        stdout, stderr, took = signal_and_wait(proc, signal.SIGTERM)
    finally:
        if proc.poll() is None:
            proc.kill()
        frozen.resume()
        frozen.stop()
        flaky.stop()
    assert proc.returncode == 0, stderr[-2000:]
    assert took < 3, took
    times = [row["time_s"] for row in read_jsonl(tmp_path / "flaky.jsonl")]
    outage = max(b - a for a, b in zip(times, times[1:], strict=False))
    # down 1 s + a stall noticed within read_timeout 2 s + backoff: well under the 20 s an open
    # behind the frozen camera's would take
    assert outage < 12, outage
