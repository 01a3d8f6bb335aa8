"""The on-screen window on a real X display (Xvfb), closed with a real q key press."""

import subprocess
import time

from conftest import CLIPS, cli_env, count_frames, parse_summary, start_cli


def test_q_in_the_window_quits_and_leaves_a_playable_recording(tmp_path, xvfb, shared):
    video = tmp_path / "win.avi"
    env = cli_env(DISPLAY=xvfb)
    proc = start_cli(
        "stream_classify.py",
        "--source",
        str(CLIPS / "generic_pedestrians_vtest.avi"),
        "--realtime",
        "--output",
        str(video),
        "--display",
        env=env,
    )
    try:
        found = subprocess.run(
            ["xdotool", "search", "--sync", "--name", "^vidclf$"], env=env, capture_output=True, text=True, timeout=60
        )
        window_id = found.stdout.split()[0]
        time.sleep(2)  # let some frames through the window
        geometry = subprocess.run(["xdotool", "getwindowgeometry", window_id], env=env, capture_output=True, text=True).stdout
        width, height = map(int, geometry.split("Geometry:")[1].split()[0].split("x"))
        assert width == 768 and 576 <= height <= 700  # the clip's 768x576 frames (+ Qt's status bar)
        subprocess.run(["xdotool", "windowfocus", "--sync", window_id, "key", "q"], env=env, check=True, timeout=30)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stderr[-2000:]
    summary = parse_summary(stdout)
    assert summary["ended_by"] == "q"
    assert 5 <= summary["recorded"] < 795  # stopped early, by the key
    assert count_frames(video) == summary["recorded"]
