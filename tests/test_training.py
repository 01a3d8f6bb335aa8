"""A tiny real training run end to end, and train.py's answers to bad input."""

import json
import re
import shutil

import numpy as np
import pytest
from conftest import ROOT, SHARED, SPORTS, assert_one_line_error, run_cli

from vidclf.config import TrainConfig
from vidclf.runtime.classifier import load_classifier
from vidclf.training.dataset import load_images, scan_classes
from vidclf.training.trainer import train

SHIPPED = ROOT / "models" / "sports22.tflite"
# 3 classes x 14 images, split 8/3/3, one short fine-tuning epoch: seconds on 2 cores
TINY = {
    "data_dir": str(SPORTS),
    "classes": ["football", "tennis", "weight_lifting"],
    "max_images_per_class": 14,
    "val_fraction": 0.2,
    "test_fraction": 0.2,
    "batch_size": 16,
    "fine_tune_epochs": 1,
    "fine_tune_layers": 12,
}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, shared):
    return train(TrainConfig(**TINY, output_dir=str(tmp_path_factory.mktemp("tiny")), epochs=4), name="tiny")


@pytest.mark.slow
def test_tiny_training_writes_every_artifact(tiny_run):
    out = tiny_run.output_dir
    for name in [
        "tiny.keras",
        "tiny.tflite",
        "tiny.int8.tflite",
        "tiny.labels.json",
        "tiny.calibration.json",
        "plot.png",
        "report.txt",
        "confusion_matrix.csv",
        "confusion_matrix.png",
        "metrics.json",
        "MODEL_CARD.md",
    ]:
        assert (out / name).stat().st_size > 0, name
    assert json.loads((out / "tiny.labels.json").read_text()) == ["football", "tennis", "weight_lifting"]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["images"] == {"train": 24, "val": 9, "test": 9, "unreadable": 0, "video_frames": 0, "distilled_frames": 0}
    calibration = json.loads((out / "tiny.calibration.json").read_text())  # fitted on the 9 val images
    assert calibration["images"] == 9 and calibration["nll_after"] <= calibration["nll_before"]
    assert 0.0 <= metrics["test_accuracy"] <= 1.0
    assert 2 <= metrics["epochs_run"] <= 4 + 1  # 1-4 head epochs (early stopping may cut) + 1 fine-tuning epoch
    assert "tiny.tflite" in (out / "MODEL_CARD.md").read_text()


@pytest.mark.slow
def test_keras_model_is_traced_once_for_every_batch_size(tiny_run):
    """The pipeline's batches vary in size; a retrace would stall the stream for ~1 s each time."""
    clf = load_classifier(tiny_run.model_path)  # the load-time probe call traces the one graph
    images = np.random.default_rng(0).integers(0, 256, (8, 224, 224, 3), dtype=np.uint8)
    probs = [clf.predict(images[:n]) for n in (1, 3, 8, 2)]
    assert [p.shape for p in probs] == [(1, 3), (3, 3), (8, 3), (2, 3)]
    np.testing.assert_allclose(probs[2][:3], probs[1], atol=1e-5)  # same image, same answer in any batch
    assert clf._call.experimental_get_tracing_count() == 1


@pytest.mark.slow
def test_keras_and_tflite_predict_identically(tiny_run, shared):
    names, items = scan_classes(SPORTS, ["football", "tennis", "weight_lifting"], max_per_class=40)
    images, _, _ = load_images(items[-12:] + items[:12], 224)
    keras_clf = load_classifier(tiny_run.model_path)
    tflite_clf = load_classifier(tiny_run.output_dir / "tiny.tflite")
    quant_clf = load_classifier(tiny_run.output_dir / "tiny.int8.tflite")
    p_keras, p_tflite, p_quant = (c.predict(images) for c in (keras_clf, tflite_clf, quant_clf))
    np.testing.assert_allclose(p_keras, p_tflite, atol=1e-4)
    assert (p_keras.argmax(1) == p_tflite.argmax(1)).all()
    assert np.abs(p_keras - p_quant).max() < 0.1  # int8 weights: close, not identical
    assert keras_clf.labels == tflite_clf.labels == names


@pytest.mark.slow
def test_pictures_are_real_pngs(tiny_run):
    import cv2

    for name in ("plot.png", "confusion_matrix.png"):
        image = cv2.imread(str(tiny_run.output_dir / name))
        assert image is not None and min(image.shape[:2]) >= 300, name


def _export(*args: str):
    import subprocess
    import sys

    from conftest import ROOT, cli_env

    return subprocess.run(
        [sys.executable, "-m", "vidclf", "export", *args], cwd=ROOT, capture_output=True, text=True, timeout=300, env=cli_env()
    )


@pytest.mark.slow
def test_export_to_onnx_and_tflite_matches_the_keras_model(tiny_run, tmp_path, shared):
    import onnxruntime

    for fmt in ("onnx", "tflite"):
        out = tmp_path / f"tiny.{fmt}"
        result = _export(str(tiny_run.model_path), "--format", fmt, "--out", str(out))
        assert result.returncode == 0, result.stderr[-2000:]
        assert float(result.stdout.rsplit(" ", 1)[1]) < 1e-3, result.stdout  # checked by the command itself
    # and independently here, on real photos: onnxruntime vs the .keras model
    _, items = scan_classes(SPORTS, ["football", "tennis", "weight_lifting"], max_per_class=4)
    images, _, _ = load_images(items, 224)
    session = onnxruntime.InferenceSession(str(tmp_path / "tiny.onnx"), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    p_onnx = np.concatenate([session.run(None, {name: images[i : i + 1].astype(np.float32)})[0] for i in range(len(images))])
    p_keras = load_classifier(tiny_run.model_path).predict(images)
    np.testing.assert_allclose(p_onnx, p_keras, atol=1e-4)
    again = _export(str(tiny_run.model_path), "--format", "onnx", "--out", str(tmp_path / "tiny.onnx"))
    assert_one_line_error(again, "already exists", "--overwrite")


@pytest.mark.slow
def test_int8_onnx_export_is_quantised_checked_and_classifies_a_clip(tiny_run, tmp_path, shared):
    """--format onnx-int8: int8 weights (7 bits where a convolution is not depthwise, see
    vidclf.training.quantize), a float head, the command's own top-class check, and the file
    runs through load_classifier and the streaming CLI like any model."""
    import onnx
    from onnx import numpy_helper

    out = tmp_path / "tiny.int8.onnx"
    args = ("--format", "onnx-int8", "--out", str(out), "--data-dir", str(SPORTS), "--calibration-images", "40")
    result = _export(str(tiny_run.model_path), *args)
    assert result.returncode == 0, result.stderr[-2000:]
    agreement, held_out = re.search(r"on ([\d.]+) of (\d+) held-out photos", result.stdout).groups()
    assert float(agreement) >= 0.9 and int(held_out) == 200  # --min-agreement's default

    graph = onnx.load(str(out)).graph
    made_by = {output: node for node in graph.node for output in node.output}
    initializers = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    ranges = {"depthwise": [], "other": []}
    for conv in (node for node in graph.node if node.op_type == "Conv"):
        dequantize = made_by[conv.input[1]]
        assert dequantize.op_type == "DequantizeLinear"
        weights = initializers[dequantize.input[0]]
        assert weights.dtype == np.int8
        group = next((attr.i for attr in conv.attribute if attr.name == "group"), 1)
        ranges["other" if group == 1 else "depthwise"].append(int(np.abs(weights.astype(np.int16)).max()))
    assert max(ranges["other"]) <= 64 < max(ranges["depthwise"]) <= 127  # 7-bit where vpmaddubsw could saturate
    (gemm,) = [node for node in graph.node if node.op_type == "Gemm"]
    assert initializers[gemm.input[1]].dtype == np.float32  # the head stays float

    shutil.copy(tiny_run.output_dir / "tiny.labels.json", tmp_path / "tiny.labels.json")
    _, items = scan_classes(SPORTS, ["football", "tennis", "weight_lifting"], max_per_class=4)
    images, _, _ = load_images(items, 224)
    p_int8 = load_classifier(out).predict(images)
    p_keras = load_classifier(tiny_run.model_path).predict(images)
    assert 0.0 < np.abs(p_int8 - p_keras).max() < 0.15  # quantised: close, not identical

    rows = tmp_path / "rows.jsonl"
    clip = SHARED / "clips" / "fencing_short_bout.mp4"  # 28 frames
    streamed = run_cli("stream_classify.py", "--model", str(out), "--source", str(clip), "--no-display", "--results", str(rows))
    assert streamed.returncode == 0, streamed.stderr[-2000:]
    labels = [json.loads(line)["label"] for line in rows.read_text().splitlines()]
    assert len(labels) == 28 and set(labels) <= {"football", "tennis", "weight_lifting", "uncertain"}


@pytest.mark.slow
def test_int8_onnx_export_answers_bad_settings_in_one_line(tiny_run, tmp_path):
    for flag, value, words in [
        ("--min-agreement", "1.5", "between 0 and 1"),
        ("--calibration-images", "0", "at least 1"),
    ]:
        result = _export(str(tiny_run.model_path), "--format", "onnx-int8", "--out", str(tmp_path / "x.onnx"), flag, value)
        assert_one_line_error(result, words)


def _make_class(root, name, files):
    (root / name).mkdir(parents=True)
    for fname, data in files.items():
        (root / name / fname).write_bytes(data)


def test_unreadable_images_are_skipped_and_counted(tmp_path, shared):
    good = (SPORTS / "tennis").glob("*.jpg")
    _make_class(tmp_path, "a", {f"{i}.jpg": next(good).read_bytes() for i in range(4)} | {"bad.jpg": b"nope"})
    _make_class(tmp_path, "b", {f"{i}.jpg": next(good).read_bytes() for i in range(4)})
    names, items = scan_classes(tmp_path)
    images, labels, bad = load_images(items, 64)
    assert len(images) == 8 and [p.name for p in bad] == ["bad.jpg"]


@pytest.mark.parametrize(
    ("setup", "args", "fragments"),
    [
        ("none", ["--data-dir", "{tmp}/missing"], ["data folder not found"]),
        ("one_class", ["--data-dir", "{tmp}"], ["need at least 2 classes"]),
        ("unknown_class", ["--data-dir", "{tmp}", "--classes", "a,zzz"], ["class folder(s) not found", "zzz"]),
        ("unreadable", ["--data-dir", "{tmp}"], ["no readable", "b"]),
        ("two_classes", ["--data-dir", "{tmp}", "--weights", "{tmp}/nope.pth"], ["backbone weights not found"]),
        ("two_classes", ["--data-dir", "{tmp}", "--weights", "{tmp}/a/0.jpg"], ["cannot load backbone weights"]),
        ("two_classes", ["--data-dir", "{tmp}", "--epochs", "0"], ["train.epochs must be >= 1"]),
        ("two_classes", ["--data-dir", "{tmp}", "--distill-from", "{model}"], ["train.distill_from needs", "augment: video"]),
        (
            "two_classes",
            ["--data-dir", "{tmp}", "--augment", "video", "--fine-tune-epochs", "1", "--distill-from", "{model}"],
            ["train.distill_from", "has classes", "the data has ['a', 'b']"],
        ),
    ],
)
@pytest.mark.slow
def test_bad_training_input_is_one_error_line(tmp_path_factory, shared, setup, args, fragments):
    tmp_path = tmp_path_factory.mktemp("data")
    good = (SPORTS / "football").glob("*.jpg")
    if setup in ("one_class", "unknown_class", "unreadable", "two_classes"):
        _make_class(tmp_path, "a", {f"{i}.jpg": next(good).read_bytes() for i in range(6)})
    if setup in ("unreadable",):
        _make_class(tmp_path, "b", {f"{i}.jpg": b"\xff\xd8 broken" for i in range(6)})
    if setup in ("unknown_class", "two_classes"):
        _make_class(tmp_path, "b", {f"{i}.jpg": next(good).read_bytes() for i in range(6)})
    args = [a.format(tmp=tmp_path, model=SHIPPED) for a in args] + ["--output-dir", str(tmp_path_factory.mktemp("out"))]
    assert_one_line_error(run_cli("train.py", *args, timeout=300), *fragments)


@pytest.mark.slow
def test_fine_tuning_touches_only_the_last_layers(tiny_run):
    """Fine-tuning unfreezes the last ``fine_tune_layers`` backbone layers except BatchNorm:
    compared with the ImageNet weights, the head conv changed, the stem and every BN did not."""
    import keras

    from vidclf.training.backbones import build_backbone

    trained = keras.saving.load_model(tiny_run.model_path, compile=False).get_layer("efficientnet_lite0")
    imagenet = build_backbone("efficientnet_lite0")

    def differs(layer) -> bool:
        original = imagenet.get_layer(layer.name).get_weights()
        return any(not np.array_equal(a, b) for a, b in zip(layer.get_weights(), original, strict=True))

    changed = {layer.name for layer in trained.layers if layer.weights and differs(layer)}
    assert "head_conv" in changed and "block15_project_conv" in changed
    assert "stem_conv" not in changed and "block0_dw_conv" not in changed
    assert not any(name.endswith("_bn") for name in changed)


@pytest.mark.slow
def test_fine_tuning_further_on_video_like_frames_with_a_background_class(tiny_run, tmp_path, shared):
    """--init-model + --augment video + extra photos + frames of training clips + a new
    no-sport class: the 3-class head grows to 4, the old classes keep their weights."""
    extra = tmp_path / "extra"
    for name, source in (
        ("tennis", SPORTS / "tennis"),
        ("football", SPORTS / "football"),
        ("_none", SHARED / "sports_extra" / "_none"),
    ):
        (extra / name).mkdir(parents=True)
        for src in sorted(source.glob("*.jpg"))[-10:]:
            (extra / name / src.name).write_bytes(src.read_bytes())
    cfg = TrainConfig(
        **TINY,
        output_dir=str(tmp_path / "more"),
        init_model=str(tiny_run.model_path),
        extra_data_dirs=[str(extra)],
        video_dir=str(SHARED / "video_train"),
        video_frame_step=30,
        augment="video",
        background_class="no_sport",
        quantize=False,
    )
    result = train(cfg, name="more")
    assert result.class_names == ["football", "tennis", "weight_lifting", "no_sport"]
    images = result.metrics["images"]
    assert images["train"] == 24 + 3 * 6 and images["val"] == 9 + 3 * 2 and images["test"] == 9 + 3 * 2
    # frames of the tennis clips and of the 13 clips with no sport (the other classes have none there)
    labels = json.loads((SHARED / "video_train" / "labels.json").read_text())["clips"]
    used = [c for c in labels.values() if c["class"] in (None, "tennis")]
    assert images["video_frames"] == sum((c["frames"] + 29) // 30 for c in used)
    before, after = keras_weights(tiny_run.model_path), keras_weights(result.model_path)
    assert before[-2].shape == (1280, 3) and after[-2].shape == (1280, 4)  # the head grew by one class
    assert not np.allclose(before[-2], after[-2][:, :3])  # and it trained further


def keras_weights(path):
    import keras

    import vidclf.training.backbones  # noqa: F401  custom layers

    return keras.saving.load_model(path, compile=False).get_weights()


@pytest.mark.slow
def test_averaging_two_runs_of_one_lineage_gives_their_mean_weights(tiny_run, tmp_path, shared):
    """train.average_models with no fine-tuning: the model written holds the mean of the two
    runs' weights (batch-norm statistics too), and is exported, tested and calibrated like a
    trained one; the model card says what was averaged."""
    further = train(
        TrainConfig(**{**TINY, "fine_tune_layers": 40}, output_dir=str(tmp_path / "b"), init_model=str(tiny_run.model_path),
                    quantize=False),
        name="b",
    )
    first, second = keras_weights(tiny_run.model_path), keras_weights(further.model_path)
    assert any(not np.allclose(a, b) for a, b in zip(first, second, strict=True))  # two different models
    soup = train(
        TrainConfig(**{**TINY, "fine_tune_epochs": 0}, output_dir=str(tmp_path / "soup"), quantize=False,
                    average_models=[str(tiny_run.model_path), str(further.model_path)]),
        name="soup",
    )
    averaged = keras_weights(soup.model_path)
    assert len(averaged) == len(first)
    for mean, a, b in zip(averaged, first, second, strict=True):
        np.testing.assert_allclose(mean, (a + b) / 2, rtol=1e-5, atol=1e-6)
    assert soup.metrics["epochs_run"] == 0 and 0.0 <= soup.metrics["test_accuracy"] <= 1.0
    assert json.loads((soup.output_dir / "soup.calibration.json").read_text())["images"] == 9
    clf = load_classifier(soup.output_dir / "soup.tflite")
    assert clf.labels == ["football", "tennis", "weight_lifting"]
    assert "the mean of" in (soup.output_dir / "MODEL_CARD.md").read_text()


def test_averaging_refuses_models_that_are_not_the_same_network():
    import keras

    from vidclf.errors import VidclfError
    from vidclf.training.soup import average_models

    def small(width: int):
        return keras.Sequential([keras.Input((4,)), keras.layers.Dense(width), keras.layers.Dense(2)])

    with pytest.raises(VidclfError, match="b.keras is not the same network as a.keras"):
        average_models([("a.keras", small(3)), ("b.keras", small(5))])
    with pytest.raises(VidclfError, match="two models or more"):
        average_models([("a.keras", small(3))])


@pytest.mark.slow
def test_average_models_and_init_model_together_is_one_error_line(tiny_run, tmp_path):
    model = str(tiny_run.model_path)
    result = run_cli("train.py", "--data-dir", str(SPORTS), "--classes", "football,tennis,weight_lifting",
                     "--init-model", model, "--average-models", f"{model},{model}", "--output-dir", str(tmp_path))
    assert_one_line_error(result, "train.init_model or train.average_models")


@pytest.mark.slow
def test_a_model_written_at_a_larger_input_size_keeps_its_weights(tiny_run, tmp_path, shared):
    """train.export_size: the same weights in a model for 256 px inputs, tested and calibrated
    at 256; its outputs equal those of the 224 px TFLite graph run at 256 by the interpreter
    (a second, independent way to run the same weights at that size)."""
    from vidclf.runtime.classifier import _litert_interpreter

    big = train(
        TrainConfig(**{**TINY, "fine_tune_epochs": 0}, output_dir=str(tmp_path / "big"), quantize=False,
                    init_model=str(tiny_run.model_path), export_size=256),
        name="big",
    )
    for fname in ("big.keras", "big.tflite"):
        assert load_classifier(big.output_dir / fname).input_size == 256
    for a, b in zip(keras_weights(tiny_run.model_path), keras_weights(big.model_path), strict=True):
        np.testing.assert_array_equal(a, b)
    assert big.metrics["input_size"] == 256 and big.metrics["train_input_size"] == 224
    assert json.loads((big.output_dir / "big.calibration.json").read_text())["images"] == 9
    assert "tested and calibrated at 256" in (big.output_dir / "MODEL_CARD.md").read_text()

    _names, items = scan_classes(SPORTS, TINY["classes"], 2)
    images = load_images(items, 256, fit="crop")[0].astype(np.float32)
    interpreter = _litert_interpreter(model_path=str(tiny_run.output_dir / "tiny.tflite"), num_threads=2)
    index = interpreter.get_input_details()[0]["index"]
    interpreter.resize_tensor_input(index, [1, 256, 256, 3])
    interpreter.allocate_tensors()
    expected = []
    for image in images:
        interpreter.set_tensor(index, image[np.newaxis])
        interpreter.invoke()
        expected.append(interpreter.get_tensor(interpreter.get_output_details()[0]["index"])[0].copy())
    np.testing.assert_allclose(load_classifier(big.model_path).predict(images), np.stack(expected), atol=1e-4)

    # a run started from the 256 px model keeps its size unless told another (not the backbone's 224)
    kept = train(
        TrainConfig(**{**TINY, "fine_tune_epochs": 0}, output_dir=str(tmp_path / "kept"), quantize=False,
                    init_model=str(big.model_path)),
        name="kept",
    )
    assert kept.metrics["train_input_size"] == 256 and load_classifier(kept.output_dir / "kept.tflite").input_size == 256
    # and told 224, it trains and tests at 224 again, with the same weights
    back = train(
        TrainConfig(**{**TINY, "fine_tune_epochs": 0}, output_dir=str(tmp_path / "back"), quantize=False,
                    init_model=str(big.model_path), input_size=224),
        name="back",
    )
    assert load_classifier(back.output_dir / "back.tflite").input_size == 224 and back.metrics["input_size"] == 224
    for run in (kept, back):
        for a, b in zip(keras_weights(tiny_run.model_path), keras_weights(run.model_path), strict=True):
            np.testing.assert_array_equal(a, b)


@pytest.mark.slow
def test_training_at_a_smaller_input_size_and_writing_the_model_at_another(tmp_path, shared):
    """train.input_size 160 (head and fine-tuning at 160 px), export_size 224: the written
    files take 224 px inputs and the metrics say both sizes."""
    run = train(
        TrainConfig(**{**TINY, "epochs": 2}, output_dir=str(tmp_path / "small"), quantize=False, input_size=160,
                    export_size=224),
        name="small",
    )
    assert run.metrics["train_input_size"] == 160 and run.metrics["input_size"] == 224
    assert run.metrics["epochs_run"] >= 2  # the head and the fine-tuning epoch ran at 160
    for fname in ("small.keras", "small.tflite"):
        assert load_classifier(run.output_dir / fname).input_size == 224
    assert "trained at 160, tested and calibrated at 224" in (run.output_dir / "MODEL_CARD.md").read_text()


def test_video_batches_mix_the_teachers_probabilities_into_the_targets(shared):
    """A teacher with a larger input sees each training frame resized to it; the target is
    (1 - w) x the label + w x its probabilities."""
    import cv2

    from vidclf.runtime.classifier import load_labels
    from vidclf.training.distill import Teacher
    from vidclf.training.video_data import VideoFrameBatches

    labels = load_labels(ROOT / "models" / "sports22.labels.json")
    teacher = Teacher(SHIPPED, labels)
    photos = [cv2.imread(str(p)) for p in sorted((SPORTS / "tennis").glob("*.jpg"))[:3]]
    tennis = labels.index("tennis")
    batches = VideoFrameBatches(photos, np.array([tennis] * 3), len(labels), batch_size=3, size=160, fit="crop", seed=7,
                                teacher=teacher, teacher_weight=0.7)
    x, y, _weights = batches[0]
    assert x.shape == (3, 160, 160, 3) and teacher.frames == 3
    seen = np.stack([cv2.resize(image.astype(np.uint8), (224, 224), interpolation=cv2.INTER_LINEAR) for image in x])
    expected = 0.7 * teacher.classifiers[0].predict(seen)
    expected[:, tennis] += 0.3
    np.testing.assert_allclose(y, expected, atol=1e-6)
    assert not np.allclose(y, np.eye(len(labels))[[tennis] * 3])  # soft: the teacher is never fully sure


def test_several_teachers_give_the_mean_of_their_probabilities(shared):
    """train.distill_from "a,b": an ensemble teacher; each model sees the frame at its own input
    size, and the target's teacher part is the mean of their probabilities."""
    import cv2

    from vidclf.runtime.classifier import load_labels
    from vidclf.training.distill import Teacher

    labels = load_labels(ROOT / "models" / "sports22.labels.json")
    int8 = ROOT / "models" / "sports22.int8.onnx"  # same classes, another runtime: its probabilities differ
    ensemble = Teacher([SHIPPED, int8], labels)
    photos = [cv2.imread(str(p)) for p in sorted((SPORTS / "volleyball").glob("*.jpg"))[:4]]
    batch = np.stack([cv2.resize(photo, (160, 160)) for photo in photos])  # not either model's size
    seen = np.stack([cv2.resize(image, (224, 224), interpolation=cv2.INTER_LINEAR) for image in batch])
    alone = [load_classifier(path).predict(seen) for path in (SHIPPED, int8)]
    assert not np.allclose(alone[0], alone[1], atol=1e-3)
    np.testing.assert_allclose(ensemble(batch), (alone[0] + alone[1]) / 2, atol=1e-5)
    assert ensemble.frames == 4


@pytest.mark.slow
def test_fine_tuning_with_a_teacher_labels_every_training_frame(tiny_run, tmp_path, shared):
    """train.distill_from: one epoch of video batches asks the teacher about every training
    frame; the metrics and the model card say so."""
    run = train(
        TrainConfig(**TINY, output_dir=str(tmp_path / "pupil"), init_model=str(tiny_run.model_path), augment="video",
                    distill_from=[str(tiny_run.output_dir / "tiny.tflite")], distill_weight=0.6, quantize=False),
        name="pupil",
    )
    # at least once each (Keras also reads the first batches once more, to learn their shapes)
    assert run.metrics["images"]["train"] == 24 and 24 <= run.metrics["images"]["distilled_frames"] <= 2 * 24
    assert "Distilled from" in (run.output_dir / "MODEL_CARD.md").read_text()
