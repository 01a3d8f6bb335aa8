"""Every way a run can end finalises the recording and the results file, and joins threads."""

import signal

import pytest
from conftest import CLIPS, count_frames, parse_summary, read_jsonl, start_cli, wait_rows

LONG_CLIP = CLIPS / "generic_pedestrians_vtest.avi"  # 79.5 s at real time


# every catchable termination signal finalises like SIGTERM (SIGHUP: see test_reliability)
@pytest.mark.parametrize(
    ("sig", "exit_code"), [(signal.SIGINT, 130), (signal.SIGTERM, 0), (signal.SIGQUIT, 0), (signal.SIGUSR1, 0)]
)
def test_signal_mid_stream_saves_a_playable_recording(tmp_path, shared, sig, exit_code):
    video, results = tmp_path / "out.avi", tmp_path / "r.jsonl"
    proc = start_cli(
        "stream_classify.py", "--source", str(LONG_CLIP), "--realtime", "--output", str(video), "--results", str(results)
    )
    wait_rows(results, 20)
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == exit_code, stderr[-2000:]
    assert "Traceback" not in stderr
    summary = parse_summary(stdout)
    assert summary["ended_by"] == sig.name
    assert "threads still running" not in stdout
    assert 20 <= summary["recorded"] < 795
    assert count_frames(video) == summary["recorded"]  # plays back to the last frame written
    rows = read_jsonl(results)
    assert len(rows) == summary["shown"] == summary["recorded"]
    assert (tmp_path / "r.jsonl.summary.json").exists()


@pytest.mark.slow
def test_end_of_stream_finalises_everything(tmp_path, shared):
    video, results = tmp_path / "out.mp4", tmp_path / "r.csv"
    proc = start_cli(
        "stream_classify.py",
        "--source",
        str(CLIPS / "volleyball_indoor_practice.mp4"),
        "--output",
        str(video),
        "--results",
        str(results),
    )
    stdout, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0
    summary = parse_summary(stdout)
    assert summary["ended_by"] == "end of stream"
    assert count_frames(video) == summary["recorded"] == 167
    assert len(results.read_text().splitlines()) == 168  # header + every frame
