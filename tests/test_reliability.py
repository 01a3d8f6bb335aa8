"""Hostile and unlucky input: never destroy data, never leak secrets, never hang, never lie.

Each test drives the real CLI with real files, real servers on 127.0.0.1 and real signals.
"""

import fractions
import hashlib
import json
import os
import pty
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest
from conftest import (
    CLIPS,
    MODEL,
    ROOT,
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
from servers import HttpFileServer, free_port

FENCING = CLIPS / "fencing_short_bout.mp4"  # 28 frames, 15 FPS
LONG_CLIP = CLIPS / "generic_pedestrians_vtest.avi"  # 795 frames, 768x576


def stream(*args, timeout=60, **kwargs):
    return run_cli("stream_classify.py", *args, timeout=timeout, **kwargs)


def sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ---------------------------------------------------------------- data loss and security


@pytest.mark.parametrize("link", ["same", "symlink", "hardlink"])
def test_recording_onto_the_source_is_refused_and_the_source_survives(tmp_path, shared, link):
    source = tmp_path / "c.mp4"
    shutil.copy(FENCING, source)
    before = sha(source)
    output = {"same": source, "symlink": tmp_path / "link.mp4", "hardlink": tmp_path / "hard.mp4"}[link]
    if link == "symlink":
        output.symlink_to(source)
    elif link == "hardlink":
        os.link(source, output)
    for extra in ([], ["--overwrite"]):  # not even when overwriting is allowed
        assert_one_line_error(stream("--source", str(source), "--output", str(output), *extra), "same file as the source video")
    assert sha(source) == before


def test_outputs_may_not_be_the_model_labels_config_or_each_other(tmp_path, shared):
    config = tmp_path / "c.yaml"
    config.write_text("smoothing:\n  size: 4\n")
    labels = tmp_path / "labels.csv"  # a results-like name, so only the identity check can catch it
    labels.write_text(json.dumps(json.loads((ROOT / "models" / "sports22.labels.json").read_text())))
    keep = {p: sha(p) for p in (config, labels, MODEL)}
    base = ["--source", str(FENCING), "--overwrite"]
    assert_one_line_error(stream(*base, "--results", str(labels), "--labels", str(labels)), "same file as the labels")
    assert_one_line_error(stream(*base, "--config", str(config), "--output", str(config)), "same file as the config")
    model_link = tmp_path / "m.avi"
    model_link.symlink_to(MODEL)
    assert_one_line_error(stream(*base, "--output", str(model_link)), "same file as the model")
    r = tmp_path / "r.jsonl"
    assert_one_line_error(stream(*base, "--results", str(r), "--output", str(r)), "same file as the recording")
    assert {p: sha(p) for p in keep} == keep


def test_existing_outputs_are_kept_unless_overwrite_is_given(tmp_path, shared):
    video, results = tmp_path / "out.avi", tmp_path / "r.jsonl"
    video.write_bytes(b"an earlier recording")
    results.write_text("earlier results\n")
    assert_one_line_error(stream("--source", str(FENCING), "--output", str(video)), "already exists", "--overwrite")
    assert_one_line_error(stream("--source", str(FENCING), "--results", str(results)), "already exists")
    assert video.read_bytes() == b"an earlier recording" and results.read_text() == "earlier results\n"
    ok = stream("--source", str(FENCING), "--output", str(video), "--results", str(results), "--overwrite")
    assert ok.returncode == 0, ok.stderr[-2000:]
    assert count_frames(video) == 28 and len(read_jsonl(results)) == 28


def test_summary_path_that_is_a_folder_is_an_error(tmp_path, shared):
    (tmp_path / "r.jsonl.summary.json").mkdir()
    assert_one_line_error(stream("--source", str(FENCING), "--results", str(tmp_path / "r.jsonl")), "is a folder")
    assert not (tmp_path / "r.jsonl").exists()


def test_credentials_in_a_url_are_never_shown(tmp_path, rtsp_server):
    secret = "s3cr3t-pw"
    url = rtsp_server.url.replace("rtsp://", f"rtsp://admin:{secret}@") + f"?token=tok-{secret}"
    results = tmp_path / "r.jsonl"
    proc = start_cli("stream_classify.py", "--source", url, "--results", str(results), "--dashboard", "on")
    wait_rows(results, 30)
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr[-2000:]
    assert "admin:***@127.0.0.1" in stdout  # the summary and the dashboard name the source, masked
    written = results.read_text() + (tmp_path / "r.jsonl.summary.json").read_text()
    for text in (stdout, stderr, written):
        assert secret not in text
    # and the error line of a source that cannot be reached
    dead = f"rtsp://admin:{secret}@127.0.0.1:{free_port()}/cam"
    line = assert_one_line_error(stream("--source", dead, "--open-timeout", "2"), "cannot open stream")
    assert secret not in line and "admin:***@" in line


def limit_file_size(nbytes: int):
    """preexec_fn: the child may not write files larger than ``nbytes`` (ulimit -f), the way
    a full disk fails writes part-way: EFBIG from the kernel, not a simulated error."""
    return lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, nbytes))


def run_limited(nbytes: int, *args):
    return subprocess.run(
        [sys.executable, str(ROOT / "stream_classify.py"), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env=cli_env(),
        preexec_fn=limit_file_size(nbytes),
    )


def test_recording_that_cannot_be_written_fails_loudly_with_the_true_count(tmp_path, shared):
    video = tmp_path / "out.avi"
    result = run_limited(2_000_000, "--source", str(LONG_CLIP), "--output", str(video))
    line = assert_one_line_error(result, "cannot write recording", str(video))
    summary = parse_summary(result.stdout)
    assert 0 < summary["recorded"] < 795  # not the frames offered: the frames the file holds
    assert summary["recorded"] == count_frames(video)
    assert f"holds {summary['recorded']} frames" in line
    assert summary["ended_by"] == "error"


def test_results_that_cannot_be_written_fail_loudly(tmp_path, shared):
    results = tmp_path / "r.jsonl"
    result = run_limited(20_000, "--source", str(LONG_CLIP), "--results", str(results))
    line = assert_one_line_error(result, "cannot write results", "File too large")
    summary = parse_summary(result.stdout)
    assert summary["ended_by"] == "error" and summary["shown"] < 795
    complete_rows = results.read_text().count("\n")  # the kernel may have taken part of the next one
    assert f"holds {complete_rows} rows" in line


@pytest.fixture
def small_disk(tmp_path):
    """A real, nearly full file system: a 3 MiB tmpfs mounted for the test (needs root, as CI
    and the development machines run; skipped where mounting is not allowed)."""
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount_point)], capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    yield mount_point
    subprocess.run(["umount", str(mount_point)], check=True)


@pytest.mark.parametrize("output", ["--output", "--results"])
def test_a_full_disk_stops_the_run_with_the_true_count(small_disk, shared, output):
    """ENOSPC from a real file system, for the recording and for the results file."""
    path = small_disk / ("out.avi" if output == "--output" else "r.jsonl")
    if output == "--results":  # leave the results file ~20 kB of room
        (small_disk / "filler").write_bytes(b"\0" * (3 * 1024 * 1024 - 20_000))
    result = stream("--source", str(LONG_CLIP), output, str(path), timeout=120)
    summary = parse_summary(result.stdout)
    assert summary["ended_by"] == "error" and summary["shown"] < 795
    if output == "--output":
        line = assert_one_line_error(result, "cannot write recording", "no space left")
        assert 0 < summary["recorded"] == count_frames(path)  # what the file really holds
        assert f"holds {summary['recorded']} frames" in line
    else:
        assert_one_line_error(result, "cannot write results", "No space left on device")


@pytest.mark.parametrize("target", ["/dev/full", "fifo"])
def test_outputs_that_are_not_regular_files_are_refused_at_once(tmp_path, target):
    if target == "fifo":
        target = tmp_path / "pipe.jsonl"
        os.mkfifo(target)  # nobody reads it: opening it for writing would block forever
    assert_one_line_error(
        stream("--source", str(FENCING), "--results", str(target), "--overwrite", timeout=30), "not a regular file"
    )


@pytest.mark.slow
def test_sighup_from_a_closed_terminal_finalises_everything(tmp_path, shared):
    """The CLI runs on a real terminal (a pty) that is closed mid-run, as when an SSH
    session drops: SIGHUP arrives and every later write to the terminal fails (EIO)."""
    video, results = tmp_path / "out.avi", tmp_path / "r.jsonl"
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "stream_classify.py"), "--source", str(LONG_CLIP), "--realtime"]
        + ["--output", str(video), "--results", str(results), "--dashboard", "on"],
        cwd=ROOT,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=cli_env(),
        start_new_session=True,
    )
    os.close(slave)
    try:
        wait_rows(results, 30)
        os.close(master)  # the terminal goes away
        proc.send_signal(signal.SIGHUP)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    summary = json.loads((tmp_path / "r.jsonl.summary.json").read_text())
    rows = read_jsonl(results)
    assert 30 <= summary["frames"] == len(rows) < 795
    assert count_frames(video) == len(rows)  # playable to the last frame written


def test_stale_display_runs_headless_or_says_why(tmp_path, shared):
    stale = ":87"  # no X server behind it
    assert not os.path.exists("/tmp/.X11-unix/X87")
    env = cli_env(DISPLAY=stale)
    results = tmp_path / "r.jsonl"
    auto = stream("--source", str(FENCING), "--results", str(results), env=env)
    assert auto.returncode == 0, auto.stderr[-2000:]  # window "auto": no display answers, so headless
    assert len(read_jsonl(results)) == 28
    assert_one_line_error(stream("--source", str(FENCING), "--display", env=env), "no X server answers at DISPLAY=:87")


# ---------------------------------------------------------------------------------- hangs


def test_yaml_alias_bomb_is_refused_quickly_with_a_short_message(tmp_path):
    bomb = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i, name in enumerate("bcdefghi"):
        prev = "abcdefghi"[i]
        bomb.append(f"{name}: &{name} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]")
    cfg = tmp_path / "bomb.yaml"
    cfg.write_text("\n".join(bomb) + "\ntrain:\n  classes: *i\n")  # 10^9 strings once expanded
    started = time.monotonic()
    line = assert_one_line_error(stream("--config", str(cfg), timeout=60), "too many values")
    assert time.monotonic() - started < 30 and len(line) < 300


def test_finite_http_file_ends_like_a_local_file(shared):
    with HttpFileServer(CLIPS) as server:
        result = stream("--source", server.url("volleyball_indoor_practice.mp4"), "--no-display", timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    summary = parse_summary(result.stdout)
    assert summary["ended_by"] == "end of stream"
    assert summary["read"] == summary["shown"] == 167 and summary["dropped"] == 0


class SilentServer:
    """A TCP port on 127.0.0.1 that accepts connections and never says a word: an RTSP open
    waits there for its whole open timeout."""

    def __init__(self, port: int | None = None):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port or 0))
        self.sock.listen(16)
        self.url = f"rtsp://127.0.0.1:{self.sock.getsockname()[1]}/cam"

    def close(self):
        self.sock.close()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.slow
def test_signal_during_a_slow_open_is_honoured_at_once(sig):
    server = SilentServer()
    try:
        proc = start_cli("stream_classify.py", "--source", server.url, "--open-timeout", "60")
        time.sleep(4)  # well inside the open (model loaded, source opening)
        assert proc.poll() is None
        stdout, stderr, took = signal_and_wait(proc, sig)
    finally:
        server.close()
    assert took < 3, took
    assert "Traceback" not in stderr
    assert proc.returncode == (130 if sig == signal.SIGINT else 0)
    assert parse_summary(stdout)["ended_by"] == sig.name


@pytest.mark.slow
def test_sigterm_during_a_reconnect_is_honoured_at_once(tmp_path, rtsp_server):
    results = tmp_path / "r.jsonl"
    proc = start_cli(
        "stream_classify.py",
        "--source",
        rtsp_server.url,
        "--results",
        str(results),
        "--open-timeout",
        "60",
        "--give-up-after",
        "0",
    )
    wait_rows(results, 30)
    rtsp_server.kill()
    silent = SilentServer(rtsp_server.port)  # the address answers, the camera does not
    try:
        time.sleep(3)  # the grabber is now stuck re-opening
        stdout, stderr, took = signal_and_wait(proc, signal.SIGTERM)
    finally:
        silent.close()
    assert took < 3, took
    assert proc.returncode == 0, stderr[-2000:]
    assert parse_summary(stdout)["ended_by"] == "SIGTERM"


# --------------------------------------------------------------------------- wrong figures


def write_clip(path, fps: float, frames: int = 12, size=(160, 120)):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    for i in range(frames):
        writer.write(np.full((size[1], size[0], 3), (i * 20) % 255, np.uint8))
    writer.release()
    return path


@pytest.mark.parametrize("fps", [0.5, 1000.0])
def test_time_lapse_and_high_speed_files_keep_their_own_timeline(tmp_path, fps):
    clip = write_clip(tmp_path / f"clip_{fps}.avi", fps)
    video, results = tmp_path / "out.avi", tmp_path / "r.jsonl"
    result = stream("--source", str(clip), "--output", str(video), "--results", str(results))
    assert result.returncode == 0, result.stderr[-2000:]
    assert cv2.VideoCapture(str(video)).get(cv2.CAP_PROP_FPS) == pytest.approx(fps, rel=1e-3)
    rows = read_jsonl(results)
    assert [r["position_s"] for r in rows] == pytest.approx([i / fps for i in range(12)], abs=1e-3)


def test_variable_frame_rate_file_uses_the_decoders_timestamps(tmp_path):
    """Frames 0, 0.1, 0.15, 1.0, 1.05 and 3.0 s into the file (written with PyAV): the
    average rate (~2 FPS) would put them at index / 2."""
    import av  # requirements-dev.txt

    clip = tmp_path / "vfr.mp4"
    times_ms = [0, 100, 150, 1000, 1050, 3000]
    with av.open(str(clip), "w") as container:
        stream_ = container.add_stream("mpeg4", rate=30)
        stream_.width, stream_.height, stream_.pix_fmt = 160, 120, "yuv420p"
        stream_.codec_context.time_base = fractions.Fraction(1, 1000)
        for i, t in enumerate(times_ms):
            frame = av.VideoFrame.from_ndarray(np.full((120, 160, 3), i * 40, np.uint8), format="rgb24")
            frame.pts, frame.time_base = t, fractions.Fraction(1, 1000)
            container.mux(stream_.encode(frame))
        container.mux(stream_.encode())
    results = tmp_path / "r.jsonl"
    result = stream("--source", str(clip), "--results", str(results))
    assert result.returncode == 0, result.stderr[-2000:]
    assert [r["position_s"] for r in read_jsonl(results)] == pytest.approx([t / 1000 for t in times_ms], abs=1e-3)


def test_loop_positions_stay_on_the_clips_timeline(tmp_path, shared):
    results = tmp_path / "r.jsonl"
    proc = start_cli("stream_classify.py", "--source", str(FENCING), "--loop", "--results", str(results))
    wait_rows(results, 80)
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=30)
    rows = read_jsonl(results)
    positions = [r["position_s"] for r in rows]
    assert max(positions) <= 28 / 15  # never past the clip's length
    assert positions[28] == 0.0 and positions[29] == pytest.approx(1 / 15, abs=1e-3)  # back to the start
    summary = json.loads((tmp_path / "r.jsonl.summary.json").read_text())
    assert all(s["end_s"] <= 28 / 15 for s in summary["segments"])
    assert all(s["start_s"] <= s["end_s"] for s in summary["segments"])  # none spans a loop point
    restarts = {r["frame"] for r in rows if r["frame"] > 0 and r["position_s"] == 0.0}
    assert restarts and restarts <= {s["first_frame"] for s in summary["segments"]}


# ------------------------------------------------------------- tracebacks -> one error line


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--give-up-after", "nan"], "source.give_up_after_s must be a finite number"),
        (["--open-timeout", "inf"], "source.open_timeout_s must be a finite number"),
        (["--read-timeout", "1e300"], "source.read_timeout_s must be <= 3600"),
        (["--ema-alpha", "0", "--smoothing", "ema"], "smoothing.ema_alpha must be >= 0.001"),
        (["--source", "99999999999999999999999"], "webcam index"),
        (["--source", "²"], "video file not found"),
        (["--source", "٣"], "video file not found"),
    ],
)
def test_values_that_used_to_crash_later_are_rejected_up_front(args, fragment):
    assert_one_line_error(stream(*args, timeout=30), fragment)


def test_config_that_is_not_utf8(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_bytes(b"smoothing:\n  size: 4 # caf\xe9\n")
    assert_one_line_error(stream("--config", str(cfg)), "not UTF-8")


def test_labels_with_rich_markup_are_shown_as_plain_text(tmp_path, shared):
    model = tmp_path / "m.tflite"
    shutil.copy(MODEL, model)
    labels = json.loads((ROOT / "models" / "sports22.labels.json").read_text())
    labels = [f"[bold red]{name}[/]" if i % 2 else f"{name}[/x]" for i, name in enumerate(labels)]
    (tmp_path / "m.labels.json").write_text(json.dumps(labels))
    result = stream("--source", str(FENCING), "--model", str(model), "--dashboard", "on")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert "fencing[/x]" in result.stdout or "[bold red]fencing[/]" in result.stdout


@pytest.mark.slow
def test_dashboard_into_a_closed_pipe_still_saves_everything(tmp_path, shared):
    video = tmp_path / "out.avi"
    montage = CLIPS / "montage_lifting_football_tennis.mp4"
    cmd = f"{sys.executable} stream_classify.py --source {montage} --dashboard on --output {video}"
    result = subprocess.run(
        ["bash", "-c", f"{cmd} | head -1; exit ${{PIPESTATUS[0]}}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env=cli_env(),
    )
    assert "Traceback" not in result.stderr and "BrokenPipe" not in result.stderr, result.stderr[-2000:]
    assert result.returncode == 0
    assert count_frames(video) == 540
