"""Bad input: one clear error line, exit status 2, no traceback, no hang."""

import json
import os
import re
import shutil

import numpy as np
import pytest
from conftest import CLIPS, MODEL, assert_one_line_error, run_cli
from servers import free_port

FENCING = CLIPS / "fencing_short_bout.mp4"


def stream(*args, timeout=60):
    return run_cli("stream_classify.py", *args, timeout=timeout)


def test_missing_file(tmp_path):
    assert_one_line_error(stream("--source", str(tmp_path / "nope.mp4")), "video file not found", "nope.mp4")


def test_corrupt_video(tmp_path):
    bad = tmp_path / "corrupt.mp4"
    # Seeded: now and then FFmpeg's probing finds a decodable H.263 frame in fresh random
    # bytes (seen once in CI), and then the "video" is not corrupt at all
    bad.write_bytes(np.random.default_rng(0).bytes(200_000))
    assert_one_line_error(stream("--source", str(bad)), "corrupt.mp4")


@pytest.mark.slow
def test_truncated_video_plays_what_it_has(tmp_path, shared):
    """A file cut short (a copy interrupted mid-way) is classified up to where it breaks."""
    src = CLIPS / "generic_pedestrians_vtest.avi"
    cut = tmp_path / "cut.avi"
    cut.write_bytes(src.read_bytes()[: src.stat().st_size // 3])
    result = stream("--source", str(cut))
    assert result.returncode == 0 and "ended by: end of stream" in result.stdout


def test_text_file_as_video(tmp_path):
    bad = tmp_path / "notes.avi"
    bad.write_text("not a video\n" * 100)
    assert_one_line_error(stream("--source", str(bad)), "notes.avi")


def test_unreachable_url_fails_fast():
    url = f"rtsp://127.0.0.1:{free_port()}/nothing"
    assert_one_line_error(stream("--source", url, timeout=40), "cannot open stream", url)


def test_missing_webcam():
    # No camera exists on the test machines; index 7 is also absent on most desktops.
    assert_one_line_error(stream("--source", "7"), "cannot open webcam 7")


def test_missing_model(tmp_path):
    assert_one_line_error(stream("--model", str(tmp_path / "m.tflite")), "model file not found")


@pytest.mark.parametrize("suffix", [".tflite", ".keras", ".onnx"])
@pytest.mark.slow
def test_wrong_model_file(tmp_path, suffix):
    bad = tmp_path / f"m{suffix}"
    bad.write_bytes(b"garbage" * 1000)
    (tmp_path / "m.labels.json").write_text('["a", "b"]')
    assert_one_line_error(stream("--model", str(bad)), "cannot load")


def test_unsupported_model_format(tmp_path):
    bad = tmp_path / "m.pt"
    bad.write_bytes(b"x")
    (tmp_path / "m.labels.json").write_text('["a", "b"]')
    assert_one_line_error(stream("--model", str(bad)), "unsupported model file")


def test_labels_that_do_not_match_the_model(tmp_path):
    labels = tmp_path / "labels.json"
    labels.write_text(json.dumps(["football", "tennis", "weight_lifting"]))
    assert_one_line_error(stream("--labels", str(labels)), "labels do not match the model", "3 labels", "23")


def test_missing_and_malformed_labels(tmp_path):
    model = tmp_path / "m.tflite"
    shutil.copy(MODEL, model)
    assert_one_line_error(stream("--model", str(model)), "labels file not found")
    (tmp_path / "m.labels.json").write_text("{not json")
    assert_one_line_error(stream("--model", str(model)), "not valid JSON")


@pytest.mark.slow
def test_bad_config_value_and_unknown_key(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("smoothing:\n  size: 0\n")
    assert_one_line_error(stream("--config", str(cfg)), "smoothing.size must be >= 1")
    cfg.write_text("smoothing:\n  windw: 3\n")
    assert_one_line_error(stream("--config", str(cfg)), "unknown key smoothing.windw")
    assert_one_line_error(stream("--size", "0"), "smoothing.size must be >= 1")
    cfg.write_text("smoothing:\n  class_thresholds: {curling: 0.9}\n")  # the model has no such class
    out = tmp_path / "r.jsonl"
    assert_one_line_error(stream("--config", str(cfg), "--results", str(out)), "smoothing.class_thresholds", "curling")
    assert not out.exists()  # found before any output was touched
    cfg.write_text("smoothing:\n  class_thresholds: {tennis: 1.5}\n")
    assert_one_line_error(stream("--config", str(cfg)), "smoothing.class_thresholds.tennis must be <= 1.0")
    assert_one_line_error(stream("--config", str(tmp_path / "missing.yaml")), "config file not found")


@pytest.mark.parametrize(
    ("flag", "path", "fragment"),
    [
        ("--output", "{tmp}/no/such/dir/out.avi", "does not exist"),
        ("--output", "{tmp}", "is a folder"),
        ("--output", "{tmp}/out.gif", "unsupported recording format"),
        ("--results", "{tmp}/no/such/dir/r.jsonl", "does not exist"),
        ("--results", "{tmp}/r.txt", "must end in .jsonl or .csv"),
        ("--output", "{ro}/out.avi", "permission denied"),
        ("--output", "/sys/vidclf-test.avi", "cannot write recording"),
        ("--results", "/proc/vidclf-test.jsonl", "cannot write results"),
    ],
)
def test_unwritable_outputs(tmp_path, flag, path, fragment):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    if fragment == "permission denied" and os.access(ro, os.W_OK):
        pytest.skip("running as a user that bypasses permissions (root)")
    assert_one_line_error(stream("--source", str(FENCING), flag, path.format(tmp=tmp_path, ro=ro)), fragment)


def test_errors_do_not_leave_partial_outputs(tmp_path):
    out = tmp_path / "out.avi"
    assert_one_line_error(stream("--source", str(tmp_path / "missing.mp4"), "--output", str(out)), "not found")
    assert not out.exists()


def test_display_required_without_display():
    assert_one_line_error(stream("--display"), "no display is available")


@pytest.mark.slow
def test_log_lines_carry_a_utc_time_off_a_terminal_and_can_be_json():
    """A service's log (stderr not a terminal) gets timestamped lines; --log-format json one
    JSON object a line. The receiver here refuses every connection, so the webhook warns."""
    import json

    closed = "http://127.0.0.1:1/hook"
    text = run_cli("stream_classify.py", "--no-display", "--webhook", closed)
    assert text.returncode == 0, text.stderr[-2000:]
    warnings = [line for line in text.stderr.splitlines() if "warning: webhook" in line]
    assert warnings and all(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z warning: webhook ", w) for w in warnings)
    as_json = run_cli("stream_classify.py", "--no-display", "--webhook", closed, "--log-format", "json")
    assert as_json.returncode == 0, as_json.stderr[-2000:]
    records = [json.loads(line) for line in as_json.stderr.splitlines() if line.startswith("{")]
    assert records and all(set(r) == {"time", "level", "message"} and r["level"] == "warning" for r in records)
    assert all(r["time"].endswith("Z") and r["message"].startswith("webhook ") for r in records)
    assert not [line for line in as_json.stderr.splitlines() if "warning" in line and not line.startswith("{")]
