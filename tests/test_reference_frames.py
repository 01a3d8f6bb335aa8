"""``source.decode_frames: reference``: only reference frames decoded (PyAV, B-frames skipped),
one frame out per frame of the file; checked against OpenCV's full decode of real encodes."""

from __future__ import annotations

import av
import cv2
import numpy as np
import pytest
from conftest import CLIPS, SHARED, assert_one_line_error, count_frames, read_jsonl, run_cli
from servers import free_port

from vidclf.errors import VidclfError
from vidclf.streaming.reference_frames import ReferenceFramesCapture


def _encode(path, frames: int = 60, **options: str):
    """An H.264 file of ``frames`` different pictures (a square moving over noise), x264's
    defaults (B-frames) unless ``options`` say otherwise."""
    rng = np.random.default_rng(0)
    background = rng.integers(0, 255, (144, 176, 3), np.uint8)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25, options=options)
        stream.width, stream.height, stream.pix_fmt = 176, 144, "yuv420p"
        for i in range(frames):
            picture = background.copy()
            cv2.rectangle(picture, (2 * i, 40), (2 * i + 30, 70), (255, 255, 255), -1)
            for packet in stream.encode(av.VideoFrame.from_ndarray(picture, format="bgr24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def _read_all(capture) -> list[tuple[float, np.ndarray, bool]]:
    out = []
    while (read := capture.read())[0]:
        out.append((capture.get(cv2.CAP_PROP_POS_MSEC), read[1], getattr(capture, "repeated", False)))
    return out


def test_every_frame_comes_out_with_its_time_and_only_reference_frames_are_decoded(tmp_path):
    path = _encode(tmp_path / "bframes.mp4")
    reference = ReferenceFramesCapture(str(path))
    ours = _read_all(reference)
    opencv = cv2.VideoCapture(str(path))
    full = _read_all(opencv)
    assert len(ours) == len(full) == 60
    assert reference.get(cv2.CAP_PROP_FRAME_COUNT) == opencv.get(cv2.CAP_PROP_FRAME_COUNT)
    assert reference.get(cv2.CAP_PROP_FPS) == pytest.approx(opencv.get(cv2.CAP_PROP_FPS))
    assert [t for t, _, _ in ours] == pytest.approx([t for t, _, _ in full], abs=0.01)
    decoded = [i for i, (_, _, repeated) in enumerate(ours) if not repeated]
    assert reference.decoded == len(decoded) < 0.7 * len(ours)  # x264's B-frames were skipped
    last = None
    for i, (_, picture, repeated) in enumerate(ours):
        if repeated:
            assert picture is last  # the picture before it, the same array (no copy)
        else:
            assert np.array_equal(picture, full[i][1])  # the same picture OpenCV decodes
            last = picture
    # a rewind (--loop) starts again at the first frame
    assert reference.set(cv2.CAP_PROP_POS_FRAMES, 0)
    ok, first = reference.read()
    assert ok and np.array_equal(first, full[0][1]) and reference.get(cv2.CAP_PROP_POS_MSEC) == 0.0
    # FFmpeg's own thread count (a file past 1080p) reopens at the start without demuxing again
    assert reference.set(cv2.CAP_PROP_N_THREADS, 0) and reference.threads == 0
    assert [t for t, _, _ in _read_all(reference)] == pytest.approx([t for t, _, _ in full], abs=0.01)
    # which frames are decoded, without converting any picture (what evaluation replays use)
    reference.set(cv2.CAP_PROP_POS_FRAMES, 0)
    assert reference.decoded_flags() == [not repeated for _, _, repeated in ours]
    reference.release()


def test_a_file_without_b_frames_is_decoded_frame_by_frame(tmp_path):
    path = _encode(tmp_path / "baseline.mp4", frames=30, profile="baseline")
    reference = ReferenceFramesCapture(str(path))
    ours = _read_all(reference)
    assert len(ours) == 30 and reference.decoded == 30 and not any(r for _, _, r in ours)


def test_what_pyav_cannot_read_is_one_clear_error(tmp_path):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 20)
    with pytest.raises(VidclfError, match="broken.mp4"):
        ReferenceFramesCapture(str(bad))
    result = run_cli("stream_classify.py", "--source", str(bad), "--decode-frames", "reference", "--no-display")
    assert_one_line_error(result, "broken.mp4")


def test_a_gated_run_decoding_reference_frames_gives_a_full_decodes_rows(shared, tmp_path):
    """The real model on a real clip (B-frames: 122 of 553 frames are reference frames): the same
    rows and timestamps as a full decode, the labels nearly all the same, fewer frames classified."""
    rows = {}
    for mode in ("all", "reference"):
        out = tmp_path / f"{mode}.jsonl"
        run = run_cli(
            "stream_classify.py", "--source", str(CLIPS / "weightlifting_snatch_child_gym.mp4"), "--no-display",
            "--decode-frames", mode, "--results", str(out), "--set", "model.classify_fps=10",
            "--set", "model.classify_on_change=true",
        )  # fmt: skip
        assert run.returncode == 0, run.stderr[-2000:]
        rows[mode] = read_jsonl(out)
    full, reference = rows["all"], rows["reference"]
    assert len(full) == len(reference) == 553
    assert [r["position_s"] for r in reference] == [r["position_s"] for r in full]
    same = sum(a["label"] == b["label"] for a, b in zip(full, reference, strict=True))
    assert same >= 0.9 * len(full), same
    assert sum(r["classified"] for r in reference) < sum(r["classified"] for r in full)


def test_a_recording_made_from_reference_frames_is_complete_and_the_user_is_told_it_stutters(shared, tmp_path):
    video = tmp_path / "out.mp4"
    run = run_cli(
        "stream_classify.py", "--source", str(CLIPS / "weightlifting_snatch_child_gym.mp4"), "--no-display",
        "--decode-frames", "reference", "--output", str(video),
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    warnings = [line for line in run.stderr.splitlines() if "decode_frames is reference" in line]
    assert len(warnings) == 1 and "out.mp4" in warnings[0]
    assert count_frames(video) == 553  # every frame's place kept: the video has its full length


def test_an_avi_file_is_decoded_in_full_and_the_user_is_told_why(shared, tmp_path):
    """MPEG-4 Part 2 in AVI with packed B-frames: no trustworthy presentation times (the reader
    put frames seconds off before it refused them), so the run decodes every frame instead."""
    clip = SHARED / "video_train" / "none__c3d__v_ApplyEyeMakeup_g01_c01.avi"
    with pytest.raises(VidclfError, match="mpeg4 in avi"):
        ReferenceFramesCapture(str(clip))
    out = tmp_path / "rows.jsonl"
    run = run_cli(
        "stream_classify.py", "--source", str(clip), "--no-display", "--decode-frames", "reference", "--results", str(out)
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert sum("decoding every frame instead" in line for line in run.stderr.splitlines()) == 1
    rows = read_jsonl(out)
    assert len(rows) == count_frames(clip) == 164
    full = [t / 1000 for t, _, _ in _read_all(cv2.VideoCapture(str(clip)))]
    assert [r["position_s"] for r in rows] == pytest.approx(full, abs=1e-3)  # what a full decode gives


def test_a_camera_asked_to_decode_reference_frames_only_is_told_it_is_decoded_in_full():
    """The setting reads files; on a stream it would be silently ignored, so the user gets one
    warning line (and, the camera being unreachable here, the usual one error line)."""
    url = f"rtsp://127.0.0.1:{free_port()}/cam"
    run = run_cli("stream_classify.py", "--source", url, "--no-display", "--decode-frames", "reference")
    assert_one_line_error(run, "cannot open stream", url)
    warnings = [line for line in run.stderr.splitlines() if "decode_frames is reference" in line]
    assert len(warnings) == 1 and "reads video files only" in warnings[0] and url in warnings[0], run.stderr[-2000:]
