"""``vidclf batch``: a folder of real clips (and a broken file) through the local process
pool and a real local Ray instance; resumable; results identical to ``vidclf run``."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys

import pytest
from conftest import CLIPS, ROOT, cli_env, read_jsonl, run_cli

ARCHIVE_CLIPS = ("fencing_short_bout.mp4", "soccer_penalty_kick_kid.mp4")


def _batch(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "vidclf", "batch", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=cli_env()
    )


@pytest.fixture
def archive(tmp_path, shared):
    folder = tmp_path / "archive"
    (folder / "sub").mkdir(parents=True)
    shutil.copy(CLIPS / ARCHIVE_CLIPS[0], folder / ARCHIVE_CLIPS[0])
    shutil.copy(CLIPS / ARCHIVE_CLIPS[1], folder / "sub" / ARCHIVE_CLIPS[1])  # found recursively
    (folder / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 20)
    (folder / "notes.txt").write_text("not a video")  # ignored: not a video suffix
    return folder


def _summary(out) -> dict:
    return json.loads((out / "batch_summary.json").read_text())


@pytest.mark.slow
def test_batch_classifies_a_folder_reports_a_bad_video_and_resumes(archive, tmp_path):
    out = tmp_path / "out"
    first = _batch(str(archive), "--out", str(out), "--workers", "2", "--classify-fps", "10")
    assert first.returncode == 1, first.stderr[-2000:]  # one video failed; the batch went on
    report = _summary(out)
    assert (report["done"], report["failed"], report["skipped"]) == (2, 1, 0)
    failed = next(r for r in report["results"] if r["status"] == "failed")
    assert failed["name"] == "broken" and "broken.mp4" in failed["error"]
    assert "broken" in first.stdout and "2 done, 0 skipped, 1 failed" in first.stdout  # the table

    # identical to a single `run` of the same clip with the same settings
    clip = archive / ARCHIVE_CLIPS[0]
    config = tmp_path / "c.yaml"
    config.write_text("model:\n  classify_fps: 10\n")
    single = tmp_path / "single.jsonl"
    run = run_cli("stream_classify.py", "--config", str(config), "--source", str(clip), "--results", str(single), "--no-display")
    assert run.returncode == 0, run.stderr[-2000:]
    batch_rows = read_jsonl(out / "fencing_short_bout.jsonl")
    assert [(r["frame"], r["label"], r["classified"]) for r in batch_rows] == [
        (r["frame"], r["label"], r["classified"]) for r in read_jsonl(single)
    ]
    done = next(r for r in report["results"] if r["name"] == "fencing_short_bout")
    assert done["frames"] == 28 and done["classified"] < 28 and done["video_s"] == pytest.approx(28 / 15, abs=0.01)

    # run again: finished videos are skipped (their files untouched), the broken one is retried
    marker = out / "fencing_short_bout.done.json"
    stamp = marker.stat().st_mtime_ns
    again = _batch(str(archive), "--out", str(out), "--workers", "2")
    assert again.returncode == 1
    assert (_summary(out)["skipped"], _summary(out)["failed"]) == (2, 1)
    assert marker.stat().st_mtime_ns == stamp
    redo = _batch(str(clip), "--out", str(out), "--redo", "--workers", "1")
    assert redo.returncode == 0 and _summary(out)["done"] == 1 and marker.stat().st_mtime_ns != stamp


def test_same_file_names_in_two_folders_keep_both_results(tmp_path, shared):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        shutil.copy(CLIPS / ARCHIVE_CLIPS[0], tmp_path / folder / "clip.mp4")
    listing = tmp_path / "list.txt"
    listing.write_text("# two cameras\na/clip.mp4\nb/clip.mp4\n")
    out = tmp_path / "out"
    result = _batch(f"@{listing}", "--out", str(out), "--workers", "1")
    assert result.returncode == 0, result.stderr[-2000:]
    names = sorted(r["name"] for r in _summary(out)["results"])
    assert len(names) == 2 and names[0] != names[1] and all(n.startswith("clip-") for n in names)


def test_no_videos_is_one_error_line(tmp_path):
    result = _batch(str(tmp_path), "--out", str(tmp_path / "out"))
    assert result.returncode == 2 and result.stderr.strip().startswith("error: no video files in"), result.stderr


@pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="Ray is not installed")
@pytest.mark.slow
def test_ray_engine_gives_the_same_results_as_the_local_pool(archive, tmp_path):
    local, ray_out = tmp_path / "local", tmp_path / "ray"
    assert _batch(str(archive), "--out", str(local), "--workers", "2").returncode == 1
    ray_run = _batch(str(archive), "--out", str(ray_out), "--workers", "2", "--engine", "ray")
    assert ray_run.returncode == 1, ray_run.stderr[-3000:]
    a, b = _summary(local), _summary(ray_out)
    assert b["engine"] == "ray" and (b["done"], b["failed"]) == (a["done"], a["failed"]) == (2, 1)
    for name in ("fencing_short_bout", "soccer_penalty_kick_kid"):  # timings differ; what was decided may not
        decided = [
            [(r["frame"], r["label"], r["confidence"], r["top_k"], r["classified"]) for r in read_jsonl(out / f"{name}.jsonl")]
            for out in (local, ray_out)
        ]
        assert decided[0] == decided[1]


def test_the_biggest_videos_start_first_so_the_workers_finish_together(tmp_path):
    from vidclf.archive.jobs import longest_first, plan_jobs

    for name, size in (("a.mp4", 10), ("b.mp4", 3000), ("c.mp4", 500)):
        (tmp_path / name).write_bytes(b"\0" * size)
    jobs = plan_jobs([tmp_path], tmp_path / "out")
    assert [j.name for j in jobs] == ["a", "b", "c"]  # the input order (the table keeps it)
    assert [j.name for j in longest_first(jobs)] == ["b", "c", "a"]
