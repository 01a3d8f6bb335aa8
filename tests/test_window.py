"""The on-screen window on a real X display (Xvfb), closed with a real q key press."""

import signal
import subprocess
import time

import cv2
import pytest
from conftest import CLIPS, cli_env, count_frames, parse_summary, start_cli


def open_window(xvfb, video, *extra):
    env = cli_env(DISPLAY=xvfb)
    clip = str(CLIPS / "generic_pedestrians_vtest.avi")  # 768x576, 79.5 s at real time
    proc = start_cli("stream_classify.py", "--source", clip, "--realtime", "--output", str(video), "--display", *extra, env=env)
    return proc, env


def find_window(env) -> str:
    """Wait for the vidclf window to be mapped on the display; return its X id."""
    search = ["xdotool", "search", "--sync", "--name", "^vidclf$"]
    found = subprocess.run(search, env=env, capture_output=True, text=True, timeout=60)
    return found.stdout.split()[0]


def window_size(env, window_id) -> tuple[int, int]:
    geometry = subprocess.run(["xdotool", "getwindowgeometry", window_id], env=env, capture_output=True, text=True).stdout
    width, height = map(int, geometry.split("Geometry:")[1].split()[0].split("x"))
    return width, height


def press_q_after(proc, env, wait_s: float, width: int, heights: range) -> tuple[str, str]:
    """Wait for the window, let ``wait_s`` of frames through, check its size, press a real
    ``q`` in it; return the CLI's (stdout, stderr) once it has exited."""
    try:
        window_id = find_window(env)
        time.sleep(wait_s)
        assert window_size(env, window_id)[0] == width
        assert window_size(env, window_id)[1] in heights
        subprocess.run(["xdotool", "windowfocus", "--sync", window_id, "key", "q"], env=env, check=True, timeout=30)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stderr[-2000:]
    return stdout, stderr


@pytest.mark.slow
def test_q_in_the_window_quits_and_leaves_a_playable_recording(tmp_path, xvfb, shared):
    video = tmp_path / "win.avi"
    proc, env = open_window(xvfb, video)
    stdout, _ = press_q_after(proc, env, 2, 768, range(576, 701))  # the clip's 768x576 frames (+ Qt's status bar)
    summary = parse_summary(stdout)
    assert summary["ended_by"] == "q"
    assert 5 <= summary["recorded"] < 795  # stopped early, by the key
    assert count_frames(video) == summary["recorded"]


def test_wide_frames_are_scaled_down_in_the_window_only(tmp_path, xvfb, shared):
    video = tmp_path / "win.avi"
    proc, env = open_window(xvfb, video, "--max-width", "384")
    try:
        window_id = find_window(env)
        time.sleep(2)
        width, height = window_size(env, window_id)
        assert width == 384 and 288 <= height < 400  # half of 768x576, aspect kept
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
    assert cv2.VideoCapture(str(video)).read()[1].shape[:2] == (576, 768)  # the recording keeps full size
