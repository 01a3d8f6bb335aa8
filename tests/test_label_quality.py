"""The label a person sees: uncertain, hysteresis, minimum segment, scene cuts, calibration,
and the evaluation command that scores them on real clips."""

import json
import threading

import cv2
import numpy as np
import pytest
from conftest import CLIPS, ROOT, SPORTS, read_jsonl, run_cli
from single_predictor import Predictor

from vidclf.config import ModelConfig, TrainConfig
from vidclf.core.frame_queue import FrameQueue
from vidclf.core.messages import Frame
from vidclf.core.metrics import PipelineStats
from vidclf.evaluation.clips import ClipTruth, load_ground_truth, score_clip, switch_latencies
from vidclf.runtime.calibration import apply_temperature
from vidclf.runtime.classifier import load_classifier
from vidclf.runtime.preprocess import prepare_image
from vidclf.streaming.decoding import UNCERTAIN, LabelDecoder
from vidclf.streaming.scene_cut import SceneCutDetector
from vidclf.streaming.smoothing import make_smoother
from vidclf.training.augment import video_frame
from vidclf.training.calibration import fit_temperature, negative_log_likelihood
from vidclf.training.dataset import LabelledImage, load_images
from vidclf.training.video_data import VideoFrameBatches

LABELS = ["a", "b", "c"]
MONTAGE = CLIPS / "montage_lifting_football_tennis.mp4"


def probs(top: str, p: float) -> np.ndarray:
    out = np.full(3, (1 - p) / 2, np.float32)
    out[LABELS.index(top)] = p
    return out


def decode(decoder, sequence, fps=10.0):
    """Feed (label, probability) pairs at ``fps``; return the labels shown."""
    return [decoder.update(probs(label, p), i / fps)[0] for i, (label, p) in enumerate(sequence)]


def test_below_the_threshold_is_uncertain_and_per_class_overrides_apply():
    decoder = LabelDecoder(LABELS, threshold=0.5, class_thresholds={"c": 0.8})
    assert decoder.candidate(probs("a", 0.6)) == "a"
    assert decoder.candidate(probs("a", 0.4)) == UNCERTAIN
    assert decoder.candidate(probs("c", 0.7)) == UNCERTAIN  # c needs 0.8
    assert decoder.candidate(probs("c", 0.85)) == "c"
    with pytest.raises(ValueError, match="zz"):
        LabelDecoder(LABELS, class_thresholds={"zz": 0.5})


def test_a_background_class_is_shown_as_uncertain():
    decoder = LabelDecoder(LABELS, threshold=0.3, background=["c", "not_a_class"])
    assert decoder.candidate(probs("c", 0.9)) == UNCERTAIN
    assert decoder.candidate(probs("a", 0.9)) == "a"


def test_hysteresis_needs_a_lead_of_its_length_before_switching():
    decoder = LabelDecoder(LABELS, hysteresis_s=0.5)
    # a (1 s), then b leads for 0.3 s (too short), a again, then b for good
    sequence = [("a", 0.9)] * 10 + [("b", 0.9)] * 3 + [("a", 0.9)] * 5 + [("b", 0.9)] * 10
    shown = decode(decoder, sequence)
    assert shown[:18] == ["a"] * 18  # the 0.3 s blip never shows
    first_b = shown.index("b")
    assert first_b == 18 + 5  # b shown once it has led 0.5 s (5 frames at 10 FPS)
    assert shown[first_b:] == ["b"] * (len(shown) - first_b)


def test_minimum_segment_keeps_a_new_label_on_screen():
    decoder = LabelDecoder(LABELS, min_segment_s=1.0)
    sequence = [("a", 0.9)] * 12 + [("b", 0.9)] * 3 + [("c", 0.9)] * 20
    shown = decode(decoder, sequence)
    assert shown[12] == "b"  # a was shown 1.2 s, no hysteresis: b at once
    assert shown[12:22] == ["b"] * 10  # and for at least 1 s, although c leads from frame 15
    assert shown[22] == "c"


def test_a_cut_lifts_the_minimum_segment_but_not_the_hysteresis():
    decoder = LabelDecoder(LABELS, hysteresis_s=0.2, min_segment_s=10.0)
    shown = decode(decoder, [("a", 0.9)] * 5 + [("b", 0.9)] * 5)
    assert shown == ["a"] * 10  # b would need 10 s of a first
    decoder.cut()
    assert [decoder.update(probs("b", 0.9), 1.0 + i / 10)[0] for i in range(4)] == ["a", "a", "b", "b"]


def test_uncertain_also_needs_to_lead_and_time_going_back_is_a_new_scene():
    decoder = LabelDecoder(LABELS, threshold=0.5, hysteresis_s=0.3)
    shown = decode(decoder, [("a", 0.9)] * 5 + [("a", 0.3)] * 2 + [("a", 0.9)] * 3 + [("a", 0.3)] * 6)
    assert shown[:10] == ["a"] * 10 and shown[-1] == UNCERTAIN
    label, _ = decoder.update(probs("b", 0.9), 0.0)  # a looped file restarts at 0
    assert label == UNCERTAIN  # hysteresis still applies to the new scene
    assert [decoder.update(probs("b", 0.9), t)[0] for t in (0.1, 0.2, 0.3)][-1] == "b"


def test_scene_cuts_found_at_the_montage_boundaries_only(shared):
    detector = SceneCutDetector(threshold=0.4)
    capture = cv2.VideoCapture(str(MONTAGE))
    cuts, index = [], 0
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        if detector.update(frame):
            cuts.append(index)
        index += 1
    assert cuts == [180, 360]


@pytest.mark.slow
def test_scene_cut_restarts_the_smoothing_window_in_the_pipeline(tmp_path, shared):
    results = tmp_path / "m.jsonl"
    args = ["--source", str(MONTAGE), "--results", str(results), "--size", "64", "--uncertain-below", "0"]
    assert run_cli("stream_classify.py", *args, "--hysteresis", "0", "--min-segment", "0").returncode == 0
    rows = read_jsonl(results)
    # frame 180 starts the football shot: its smoothed label and confidence are its own raw ones
    for cut in (180, 360):
        assert rows[cut]["label"] == rows[cut]["top_k"][0][0]
        assert rows[cut]["confidence"] == pytest.approx(rows[cut]["top_k"][0][1], abs=1e-3)
    # without cut detection, a 64-frame window still carries weight lifting past frame 180
    no_cut = tmp_path / "n.jsonl"
    assert run_cli("stream_classify.py", *args[:3], str(no_cut), *args[4:], "--no-scene-cut", "--hysteresis", "0").returncode == 0
    assert read_jsonl(no_cut)[181]["confidence"] != pytest.approx(read_jsonl(no_cut)[181]["top_k"][0][1], abs=1e-3)


def test_temperature_scaling_lowers_the_nll_of_overconfident_predictions():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 600)
    right = rng.random(600) < 0.7  # 70 % right, but always 0.98 sure
    top = np.where(right, labels, (labels + 1) % 3)
    p = np.full((600, 3), 0.01, np.float32)
    p[np.arange(600), top] = 0.98
    t = fit_temperature(p, labels)
    assert t > 1.5  # softer
    assert negative_log_likelihood(apply_temperature(p, t), labels) < negative_log_likelihood(p, labels) - 0.3
    assert (apply_temperature(p, t).argmax(1) == p.argmax(1)).all()  # ranking unchanged
    confidence = apply_temperature(p, t).max(1).mean()
    assert 0.6 < confidence < 0.8  # now close to the 70 % it really gets right


def test_switch_latency_counts_until_the_new_label_holds():
    truth = ClipTruth("m", None, (("a", 0, 9), ("b", 10, 29)))
    times = [i / 10 for i in range(30)]
    shown = ["a"] * 12 + ["b"] * 2 + ["a"] + ["b"] * 15  # a 2-frame blip of b first: not yet held
    (switch,) = switch_latencies(truth, shown, times)
    assert switch == {"frame": 10, "to": "b", "latency_frames": 5, "latency_s": 0.5}


@pytest.mark.slow
def test_evaluation_command_matches_a_hand_count_of_its_results(tmp_path, shared):
    truth = json.loads((CLIPS / "labels.json").read_text())
    picked = {"clips": {k: truth["clips"][k] for k in ("fencing_short_bout.mp4", "generic_traffic_highway.mp4")}}
    ground_truth = tmp_path / "truth.json"
    ground_truth.write_text(json.dumps(picked))
    out = tmp_path / "eval"
    result = run_cli("evaluate.py", "--clips", str(CLIPS), "--ground-truth", str(ground_truth), "--out", str(out), timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads((out / "evaluation.json").read_text())
    assert "summary: sport clips right" in result.stdout
    for score in report["clips"]:
        rows = read_jsonl(out / f"{score['clip']}.jsonl")
        expected = picked["clips"][score["clip"]]["class"] or "uncertain"
        shown = [r["label"] for r in rows]
        assert score["frames"] == len(rows) == picked["clips"][score["clip"]]["frames"]
        assert score["accuracy"] == pytest.approx(sum(s == expected for s in shown) / len(rows), abs=1e-4)
        assert score["uncertain_share"] == pytest.approx(shown.count("uncertain") / len(rows), abs=1e-4)
        changes = sum(a != b for a, b in zip(shown, shown[1:], strict=False))
        minutes = (rows[-1]["position_s"] - rows[0]["position_s"]) / 60
        assert score["changes_per_min"] == pytest.approx(changes / minutes, abs=0.01)
        assert (out / f"{score['clip']}.timeline.png").stat().st_size > 1000
        assert score == score_clip(next(t for t in load_ground_truth(ground_truth) if t.name == score["clip"]), rows) | {
            "timeline": score["timeline"]
        }
    by_clip = {s["clip"]: s for s in report["clips"]}
    # "uncertain" appears on the clip with no sport, and not on a clear sport clip
    assert by_clip["generic_traffic_highway.mp4"]["uncertain_share"] > 0
    assert by_clip["fencing_short_bout.mp4"]["uncertain_share"] == 0


def test_video_augmentation_makes_wide_soft_frames_of_a_photo(shared):
    photo = cv2.imread(str(sorted((SPORTS / "basketball").glob("*.jpg"))[0]))
    rng = np.random.default_rng(0)
    frames = [video_frame(photo, rng) for _ in range(200)]
    aspects = np.array([f.shape[1] / f.shape[0] for f in frames])
    assert {round(a, 2) for a in aspects} <= {0.56, 0.75, 1.0, 1.33, 1.78}
    assert np.mean(aspects > 1.3) > 0.6  # mostly wide, like broadcast video
    sharpness = lambda im: cv2.Laplacian(cv2.cvtColor(im, cv2.COLOR_BGR2GRAY), cv2.CV_64F).var()  # noqa: E731
    assert np.median([sharpness(f) for f in frames]) < sharpness(cv2.resize(photo, (480, 270)))  # softer on the whole
    again = video_frame(photo, np.random.default_rng(0))
    assert np.array_equal(again, frames[0])  # seeded: a training run can be repeated


def test_training_batches_and_streaming_share_the_frame_to_input_function(tmp_path, shared):
    """Training's video batches are prepare_image(video_frame(photo)); the predictor feeds the
    model prepare_image(frame) with the same fit; so do the image loaders."""
    photo = cv2.imread(str(sorted((SPORTS / "tennis").glob("*.jpg"))[0]))
    batches = VideoFrameBatches([photo], np.array([1]), n_classes=3, batch_size=1, size=224, fit="crop", seed=7)
    x, y, w = batches[0]
    expected = prepare_image(video_frame(photo, np.random.default_rng((7, 0, 0))), 224, "crop")
    assert np.array_equal(x[0], expected.astype(np.float32)) and y[0].tolist() == [0, 1, 0] and w[0] == 1.0

    clf = load_classifier(ROOT / "models" / "sports22.tflite")
    wide = cv2.imread(str(sorted((SPORTS / "tennis").glob("*.jpg"))[1]))
    wide = cv2.resize(wide, (640, 360))  # a 16:9 frame
    for fit in ("squash", "crop"):
        frames, out = FrameQueue(4, drop_oldest=False), FrameQueue(4, drop_oldest=False)
        predictor = Predictor(clf, make_smoother("none"), frames, out, threading.Event(), PipelineStats(), fit=fit)
        (prediction,) = predictor.predict([Frame(0, wide, 0.0, 0.0)])
        direct = apply_temperature(clf.predict(prepare_image(wide, clf.input_size, fit)[np.newaxis]), clf.temperature)[0]
        np.testing.assert_allclose(prediction.probs, direct, atol=1e-6)
    squash, crop = prepare_image(wide, 224, "squash"), prepare_image(wide, 224, "crop")
    assert not np.array_equal(squash, crop)
    item = tmp_path / "wide.jpg"
    cv2.imwrite(str(item), wide, [cv2.IMWRITE_JPEG_QUALITY, 100])
    loaded, _labels, _bad = load_images([LabelledImage(item, 0)], 224, fit="crop")
    assert np.abs(loaded[0].astype(int) - prepare_image(cv2.imread(str(item)), 224, "crop").astype(int)).max() == 0

    # called without a fit, the library fits as config.yaml's defaults say (the shipped model's)
    default = ModelConfig().input_fit
    assert default == TrainConfig().input_fit
    assert np.array_equal(prepare_image(wide, 224), prepare_image(wide, 224, default))
    photos = [LabelledImage(item, 0)]
    assert np.array_equal(load_images(photos, 224)[0], load_images(photos, 224, fit=default)[0])
    predictor = Predictor(clf, make_smoother("none"), frames, out, threading.Event(), PipelineStats())
    (prediction,) = predictor.predict([Frame(0, wide, 0.0, 0.0)])
    direct = apply_temperature(clf.predict(prepare_image(wide, clf.input_size, default)[np.newaxis]), clf.temperature)[0]
    np.testing.assert_allclose(prediction.probs, direct, atol=1e-6)


def test_a_models_own_class_thresholds_apply_and_the_config_overrides_them(tmp_path):
    import shutil

    from vidclf.config import SmoothingConfig
    from vidclf.errors import VidclfError
    from vidclf.pipeline.orchestrator import make_decoder

    shutil.copy(ROOT / "models" / "sports22.tflite", tmp_path / "m.tflite")
    shutil.copy(ROOT / "models" / "sports22.labels.json", tmp_path / "m.labels.json")
    (tmp_path / "m.calibration.json").write_text('{"temperature": 1.0, "class_thresholds": {"basketball": 0.4}}')
    clf = load_classifier(tmp_path / "m.tflite")
    assert clf.class_thresholds == {"basketball": 0.4}

    def shown(decoder, name: str, p: float) -> str:
        scores = np.full(len(clf.labels), (1 - p) / (len(clf.labels) - 1), np.float32)
        scores[clf.labels.index(name)] = p
        return decoder.candidate(scores)

    model_only = make_decoder(SmoothingConfig(uncertain_below=0.7), clf.labels, clf.class_thresholds)
    assert shown(model_only, "basketball", 0.5) == "basketball"
    assert shown(model_only, "tennis", 0.5) == UNCERTAIN  # the global threshold for every other class
    overridden = SmoothingConfig(uncertain_below=0.7, class_thresholds={"basketball": 0.6})
    assert shown(make_decoder(overridden, clf.labels, clf.class_thresholds), "basketball", 0.5) == UNCERTAIN
    (tmp_path / "m.calibration.json").write_text('{"temperature": 1.0, "class_thresholds": {"curling": 0.4}}')
    with pytest.raises(VidclfError, match="class_thresholds.curling"):
        load_classifier(tmp_path / "m.tflite")
