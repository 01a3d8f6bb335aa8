"""Leave-group-out cross-validation: folds, head refitting, and replay of the streaming decoder."""

import dataclasses
import json

import cv2
import numpy as np
import pytest
from conftest import CLIPS, ROOT, SPORTS, count_frames, read_jsonl, run_cli

from vidclf.config import OutputConfig, load_config, override
from vidclf.evaluation.cross_validation import Head, cross_validate, fit_class_thresholds, group_folds
from vidclf.evaluation.replay import replay_clip
from vidclf.pipeline.orchestrator import run_pipeline
from vidclf.runtime.classifier import load_classifier
from vidclf.runtime.preprocess import prepare_image
from vidclf.streaming.scene_cut import SceneCutDetector
from vidclf.training.features import ClipFeatures
from vidclf.training.head_refit import RefitSettings, fit_head, head_probabilities

LABELS = ["a", "b", "c", "no_sport"]


def synthetic_clip(name: str, label: str | None, group: str, seed: int, frames: int = 40, strength: float = 3.0) -> ClipFeatures:
    """Features that point at ``label``'s direction, plus noise; no sport points nowhere."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, (frames, 8)).astype(np.float32)
    if label is not None:
        x[:, LABELS.index(label)] += strength
    return ClipFeatures(name, label, group, 10.0, x, np.zeros(frames, np.float32))


def test_folds_keep_each_group_whole_and_spread_every_class():
    clips = {}
    for i in range(12):
        label = ["a", "b", "c", None][i % 4]
        group = f"g{i // 2}"  # two clips per group, of one class each
        clips[f"clip{i}.mp4"] = synthetic_clip(f"clip{i}.mp4", label, group, i)
    clips = {n: dataclasses.replace(c, label=clips[f"clip{(int(n[4:-4]) // 2) * 2}.mp4"].label) for n, c in clips.items()}
    folds = group_folds(clips, 3, seed=1)
    assert sorted(n for fold in folds for n in fold) == sorted(clips)  # every clip once
    fold_of_group = {}
    for i, fold in enumerate(folds):
        for name in fold:
            assert fold_of_group.setdefault(clips[name].group, i) == i  # a group is never split
    assert all(len({clips[n].label for n in fold}) >= 2 for fold in folds)  # classes dealt round-robin
    assert group_folds(clips, 3, seed=1) == folds  # seeded


def test_fit_head_learns_a_new_direction_and_the_pull_keeps_it_near_the_start():
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, (600, 8)).astype(np.float32)
    y = rng.integers(0, 4, 600)
    x[np.arange(600), y] += 3.0
    start = (np.zeros((8, 4), np.float32), np.zeros(4, np.float32))
    kernel, bias = fit_head(x, y, start, settings=RefitSettings(pull=0.0, steps=200, learning_rate=0.05, keep=0.0))
    accuracy = float(np.mean(head_probabilities(x, kernel, bias).argmax(1) == y))
    assert accuracy > 0.9
    held, _ = fit_head(x, y, start, settings=RefitSettings(pull=10.0, steps=200, learning_rate=0.05, keep=0.0))
    assert np.abs(held).max() < 0.2 * np.abs(kernel).max()  # a strong pull: the head barely moves
    half, _ = fit_head(x, y, start, settings=RefitSettings(pull=0.0, steps=200, learning_rate=0.05, keep=0.5))
    np.testing.assert_allclose(half, 0.5 * kernel, atol=1e-6)  # keep: the start head's share (here zeros)


def test_cross_validation_scores_each_clip_with_a_head_that_never_saw_its_group():
    # Class "c" has no photo: the start head cannot name it, only clips of other groups teach it
    clips = {}
    for i in range(10):
        label = ["a", "b", "c", "c", None][i % 5]
        clips[f"clip{i}.mp4"] = synthetic_clip(f"clip{i}.mp4", label, f"g{i}", i)
    rng = np.random.default_rng(5)
    y_photo = rng.choice([0, 1, 3], 300)
    x_photo = rng.normal(0, 1, (300, 8)).astype(np.float32)
    x_photo[np.arange(300), y_photo] += 3.0
    photos = {"train": (x_photo[:200], y_photo[:200]), "val": (x_photo[200:], y_photo[200:])}
    start_kernel = np.zeros((8, 4), np.float32)
    start_kernel[[0, 1, 3], [0, 1, 3]] = 2.0
    start = Head(start_kernel, np.array([0, 0, -20, 0], np.float32), 1.0)
    smoothing = override(load_config(), {"smoothing.uncertain_below": 0.5}).smoothing

    as_is = cross_validate(start, clips, photos, LABELS, smoothing, "no_sport", refit=None, k=5, fit_thresholds=False)
    fast = RefitSettings(pull=0.0, steps=150, learning_rate=0.05, keep=0.0)  # synthetic data: a quick, unmixed fit
    refit = cross_validate(start, clips, photos, LABELS, smoothing, "no_sport", fast, k=5)
    assert sorted(s["clip"] for s in refit["scores"]) == sorted(clips)
    assert as_is["per_class"]["c"]["accuracy"] == 0.0  # the start head never says "c"
    assert refit["per_class"]["c"]["accuracy"] > 0.5  # learnt from the other folds' "c" clips
    assert refit["per_class"]["null"]["accuracy"] > 0.8  # no sport stays uncertain
    # each fold's "c" clip was scored by a head fitted without it: drop every other "c" clip and
    # nothing can teach the class any more
    alone = {n: c for n, c in clips.items() if c.label != "c" or n == "clip2.mp4"}
    lonely = cross_validate(start, alone, photos, LABELS, smoothing, "no_sport", fast, k=5)
    assert lonely["per_class"]["c"]["accuracy"] == 0.0


def test_a_class_threshold_is_fitted_where_it_pays():
    # class "b" is right but never confident enough for the global 0.7; no clip of "b" is wrong
    clips, probs = {}, {}
    for i in range(3):
        clips[f"b{i}"] = ClipFeatures(f"b{i}", "b", f"g{i}", 10.0, np.zeros((30, 1)), np.zeros(30, np.float32))
        probs[f"b{i}"] = np.tile(np.array([0.2, 0.45, 0.15, 0.2], np.float32), (30, 1))
    clips["n"] = ClipFeatures("n", None, "gn", 10.0, np.zeros((30, 1)), np.zeros(30, np.float32))
    probs["n"] = np.tile(np.array([0.1, 0.1, 0.1, 0.7], np.float32), (30, 1))
    smoothing = load_config().smoothing
    thresholds = fit_class_thresholds(clips, probs, LABELS, smoothing, "no_sport")
    assert thresholds == {"b": 0.4}  # the highest value that shows "b" (0.45); nothing else moves


MONTAGE = CLIPS / "montage_lifting_football_tennis.mp4"  # two scene cuts, three labels


def probabilities_and_shown_rows(tmp_path, settings: dict | None = None):
    """The montage run twice through the real pipeline: once raw (every frame, no smoothing, every
    class's probability logged) and once as shown with the config's decoding and ``settings``.
    Returns (config, classifier, raw probabilities per frame, shown rows)."""
    cfg = override(load_config(), {"source.source": str(MONTAGE), "display.window": "off", "dashboard.enabled": "off"})
    classifier = load_classifier(ROOT / cfg.model.path, None, 2)
    raw_cfg = override(cfg, {"smoothing.mode": "none", "smoothing.uncertain_below": 0.0, "smoothing.scene_cut": False,
                             "display.top_k": len(classifier.labels)})  # fmt: skip
    shown_cfg = override(cfg, settings or {})
    rows = {}
    for name, run_cfg in (("raw", raw_cfg), ("shown", shown_cfg)):
        out = tmp_path / f"{name}.jsonl"
        run_pipeline(dataclasses.replace(run_cfg, output=OutputConfig(results=str(out), overwrite=True)), classifier=classifier)
        rows[name] = read_jsonl(out)
    index = {label: i for i, label in enumerate(classifier.labels)}
    probs = np.zeros((len(rows["raw"]), len(index)), np.float32)
    for r, row in enumerate(rows["raw"]):
        for label, p in row["top_k"]:
            probs[r, index[label]] = p
    return shown_cfg, classifier, probs, rows["shown"]


@pytest.mark.slow
def test_replay_shows_the_labels_the_pipeline_shows(tmp_path, shared):
    """The replay is only worth choosing settings with if it is the pipeline's own decoding:
    the model's logged probabilities, replayed, give the label streaming showed on every frame."""
    cfg, classifier, probs, shown_rows = probabilities_and_shown_rows(tmp_path)
    capture, detector, cuts = cv2.VideoCapture(str(MONTAGE)), SceneCutDetector(), []
    fps = capture.get(cv2.CAP_PROP_FPS)
    while (frame := capture.read())[0]:
        cuts.append(detector.distance(frame[1]))
    replayed = replay_clip(probs, fps, np.array(cuts), classifier.labels, cfg.smoothing, classifier.class_thresholds)
    shown = [row["label"] for row in shown_rows]
    assert len(set(shown)) >= 3  # the clip does change label: the comparison means something
    assert [row["label"] for row in replayed] == shown


def montage_pictures(tmp_path):
    """(the montage's :class:`ClipPictures`, its FPS), through a clip folder of its own (cached)."""
    from vidclf.training.features import clip_pictures

    folder = tmp_path / "clips"
    if not folder.is_dir():
        folder.mkdir()
        (folder / MONTAGE.name).symlink_to(MONTAGE)
        (folder / "labels.json").write_text(json.dumps({"clips": {MONTAGE.name: {"class": None}}}))
    return clip_pictures(folder, tmp_path / "cache")[MONTAGE.name], cv2.VideoCapture(str(MONTAGE)).get(cv2.CAP_PROP_FPS)


@pytest.mark.slow
def test_replay_of_reference_frame_decoding_shows_what_the_pipeline_does(tmp_path, shared):
    """source.decode_frames reference + classify_fps 10 + gating: in the replay a frame that is not
    decoded repeats the last decoded frame's probabilities, small copy and colour signature; the
    real run's `classified` flags and labels follow on every frame."""
    from vidclf.evaluation.replay import decoded_frames, reference_decoded, scheduled

    settings = {"model.classify_fps": 10, "model.classify_on_change": True, "source.decode_frames": "reference"}
    cfg, classifier, probs, shown = probabilities_and_shown_rows(tmp_path, settings)
    pictures, fps = montage_pictures(tmp_path)
    decoded = decoded_frames(MONTAGE, len(probs))
    assert 0.3 < decoded.mean() < 0.7  # x264's B-frames are not decoded (measured: 278 of 540 decoded)
    clip = ClipFeatures(MONTAGE.name, None, "g", fps, probs, np.zeros(len(probs), np.float32))
    seen, seen_pictures = reference_decoded(clip, pictures, decoded)
    plan = scheduled(seen, seen_pictures, cfg.model)
    assert [bool(m) for m in plan.classified] == [row["classified"] for row in shown]
    replayed = replay_clip(seen.features, fps, plan.cut_distances, classifier.labels, cfg.smoothing,
                           classifier.class_thresholds, classified=plan.classified)  # fmt: skip
    assert len({row["label"] for row in shown}) >= 3
    assert [row["label"] for row in replayed] == [row["label"] for row in shown]


@pytest.mark.slow
def test_replay_under_a_schedule_classifies_and_shows_what_the_pipeline_does(tmp_path, shared):
    """classify_fps 10 + change gating: the replay asks the pipeline's own schedule and gate
    (on each frame's small copy) which frames are classified, measures scene cuts between those
    frames only, and shows on every frame the label and `classified` flag of a real run."""
    from vidclf.evaluation.replay import scheduled

    cfg, classifier, probs, shown = probabilities_and_shown_rows(
        tmp_path, {"model.classify_fps": 10, "model.classify_on_change": True}
    )
    pictures, fps = montage_pictures(tmp_path)
    assert montage_pictures(tmp_path)[0].small.tobytes() == pictures.small.tobytes()  # cached
    features = ClipFeatures(MONTAGE.name, None, "g", fps, np.zeros((len(probs), 1), np.float32), np.zeros(len(probs), np.float32))
    plan = scheduled(features, pictures, cfg.model)
    assert [bool(m) for m in plan.classified] == [row["classified"] for row in shown]
    assert 0.03 < plan.classified.mean() < 0.3  # gating held back most of the 10-a-second frames (measured: 0.085)
    replayed = replay_clip(probs, fps, plan.cut_distances, classifier.labels, cfg.smoothing, classifier.class_thresholds,
                           classified=plan.classified)  # fmt: skip
    assert len({row["label"] for row in shown}) >= 3
    assert [row["label"] for row in replayed] == [row["label"] for row in shown]


CV_CLIPS = {  # short video_train clips: three groups of basketball (two clips share one), fencing, tennis, no sport
    "basketball__chonyy__sample_video__1484e35f.mp4": None,
    "basketball__chonyy__one_score_one_miss.mp4": None,
    "basketball__hakeemtaha__free_throw.mp4": None,
    "basketball__catfatow__basketball_2.mp4": None,
    "fencing__carpfire__Bardenet_Cannone.mp4": None,
    "tennis__artlabss__video_input5.mp4": None,
    "none__sonho4ng__v_ApplyEyeMakeup_g01_c02.avi": None,
}
TINY3 = ["basketball", "fencing", "tennis"]


@pytest.fixture(scope="module")
def cv_setup(tmp_path_factory, shared):
    """A folder of seven training clips (a labels.json with their groups) and a tiny model of three
    classes to refit: a head trained for 4 epochs on 14 photos a class (the no-sport clip is
    scored, not trained on: the model has no background class)."""
    from vidclf.config import TrainConfig
    from vidclf.training.trainer import train

    folder = tmp_path_factory.mktemp("cv_clips")
    source = shared / "video_train"
    entries = json.loads((source / "labels.json").read_text())["clips"]
    for name in CV_CLIPS:
        (folder / name).symlink_to(source / name)
    (folder / "labels.json").write_text(json.dumps({"clips": {n: entries[n] for n in CV_CLIPS}}))
    tiny = dict(data_dir=str(SPORTS), classes=TINY3, max_images_per_class=14, val_fraction=0.2, test_fraction=0.2,
                batch_size=16, fine_tune_epochs=0, epochs=4, quantize=False)  # fmt: skip
    result = train(TrainConfig(**tiny, output_dir=str(tmp_path_factory.mktemp("tiny_cv"))), name="tiny")
    flags = ["--data-dir", str(SPORTS), "--classes", ",".join(TINY3), "--max-images-per-class", "14", "--folds", "3",
             "--set", "train.val_fraction=0.2", "--set", "train.test_fraction=0.2"]  # fmt: skip
    return folder, result.model_path, flags


@pytest.mark.slow
def test_evaluate_cross_validates_over_groups_and_train_refits_the_head(tmp_path, cv_setup):
    folder, model, flags = cv_setup
    cache = ["--feature-cache", str(tmp_path / "features")]
    out = tmp_path / "cv"
    result = run_cli("evaluate.py", "--cross-validate", str(folder), "--model", str(model), "--out", str(out), *flags, *cache,
                     timeout=600)  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads((out / "cross_validation.json").read_text())
    assert sorted(s["clip"] for s in report["scores"]) == sorted(CV_CLIPS)  # every clip scored once
    assert "not_held_out" not in report  # the tiny model saw photos only
    chonyy = [i for i, fold in enumerate(report["folds"]) if any("chonyy" in n for n in fold)]
    assert len(chonyy) == 1  # the two clips of one group sit in one fold
    assert set(report["per_class"]) == {"basketball", "fencing", "tennis", "null"}
    assert "| basketball | 4 |" in result.stdout and "range over folds" in result.stdout
    assert list((tmp_path / "features").glob("cv_clips*-crop-*.npz"))  # cached for the next run

    # train --refit-head: the same refit on every clip, and the thresholds fitted out of fold
    train_out = tmp_path / "refit"
    result = run_cli("train.py", "--init-model", str(model), "--refit-head", "--video-dir", str(folder), "--fine-tune-epochs",
                     "0", "--output-dir", str(train_out), "--no-quantize", *flags, *cache, timeout=600)  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    metrics = json.loads((train_out / "metrics.json").read_text())
    frames = sum(count_frames(folder / n) for n in CV_CLIPS if not n.startswith("none__"))  # no background class
    assert metrics["images"]["video_frames"] == frames
    assert (train_out / "cross_validation.md").is_file()
    start, refit = (load_classifier(p, None, 2) for p in (model, train_out / "refit.tflite"))
    clip = folder / "basketball__hakeemtaha__free_throw.mp4"  # a gym the photos never showed
    pictures = [prepare_image(f, 224, "crop") for f in read_frames(clip)]
    basketball = TINY3.index("basketball")
    before, after = (float(np.mean(c.predict(np.stack(pictures)).argmax(1) == basketball)) for c in (start, refit))
    assert after > before and after > 0.9  # the head learnt the clip it was refitted on

    # cross-validating from the refitted model: its head saw every clip, and the report says so
    result = run_cli("evaluate.py", "--cross-validate", str(folder), "--model", str(train_out / "refit.keras"),
                     "--out", str(tmp_path / "cv2"), *flags, *cache, timeout=600)  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert "**Not held out**" in result.stdout and "not held out" in result.stderr


def read_frames(path):
    capture = cv2.VideoCapture(str(path))
    while (frame := capture.read())[0]:
        yield frame[1]


def test_the_feature_cache_key_follows_the_weights_and_the_input_size():
    """The same weights written at another input size see other pictures: their cached
    features must not be taken for each other's (a 160 px copy once read the 224 px cache)."""
    import keras

    from vidclf.training.export import with_input_size
    from vidclf.training.features import _model_key

    backbone = keras.Sequential(
        [keras.Input((32, 32, 3)), keras.layers.Conv2D(4, 3), keras.layers.GlobalAveragePooling2D()], name="backbone"
    )
    picture = keras.Input((32, 32, 3))
    model = keras.Model(picture, keras.layers.Dense(3, activation="softmax", name="predictions")(backbone(picture)))
    same = with_input_size(model, 32)
    assert _model_key(same) == _model_key(model)
    assert _model_key(with_input_size(model, 48)) != _model_key(model)
    backbone.layers[0].set_weights([w + 1.0 for w in backbone.layers[0].get_weights()])
    assert _model_key(model) != _model_key(same)  # other weights


def test_a_model_trained_on_the_clips_is_named_as_not_held_out(tmp_path):
    """Cross-validating a refit that starts from a head already fitted on the same clips gives
    figures that look held out and are not (measured: 0.957 instead of ~0.75); the metrics file
    that training writes says which clips a model saw."""
    from vidclf.evaluation.cross_validation import clips_trained_on

    def metrics(path, name, frames, video_dir="../shared/data/video_train"):
        path.write_text(json.dumps({"name": name, "images": {"video_frames": frames}, "config": {"video_dir": video_dir}}))

    shipped = tmp_path / "models" / "sports22.keras"
    shipped.parent.mkdir()
    metrics(shipped.with_name("sports22.metrics.json"), "sports22", 17756)
    assert clips_trained_on(shipped) == "../shared/data/video_train"
    assert clips_trained_on(shipped.with_name("sports22.tflite")) == "../shared/data/video_train"
    run = tmp_path / "run" / "tiny.keras"
    run.parent.mkdir()
    metrics(run.with_name("metrics.json"), "tiny", 0)  # photos only
    assert clips_trained_on(run) is None
    metrics(run.with_name("metrics.json"), "other", 500)  # the folder's metrics are another model's
    assert clips_trained_on(run) is None
    assert clips_trained_on(tmp_path / "nowhere.keras") is None
