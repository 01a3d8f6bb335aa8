"""Weights to and from the PyTorch layout, and tools/gpu_train's pack / unpack round trip.

The GPU step itself (finetune.py) needs torch and a GPU machine; it refuses to train unless
its PyTorch copy reproduces the packed Keras model's probabilities (check.npz, tested here).
"""

import json

import cv2
import numpy as np
import pytest
from conftest import ROOT, SPORTS, assert_one_line_error, run_cli

from vidclf.errors import VidclfError
from vidclf.training.backbones import bundled_lite_checkpoint, efficientnet_lite, load_model_state_dict, model_state_dict
from vidclf.training.lite_layout import keras_weights, state_dict
from vidclf.training.torch_checkpoint import load_state_dict

CLASSES = ["football", "tennis", "weight_lifting"]
PACK, UNPACK = "tools/gpu_train/pack.py", "tools/gpu_train/unpack.py"


def _classifier(variant: int = 0, n_classes: int = 3, seed: int = 0):
    """A model shaped like train.py's (Lite backbone + dropout + Dense "predictions"), with
    random batch-norm statistics and head so that every weight matters."""
    import keras

    backbone = efficientnet_lite(variant)
    rng = np.random.default_rng(seed)
    for layer in backbone.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            gamma, beta, mean, var = layer.get_weights()
            layer.set_weights(
                [
                    gamma * rng.uniform(0.5, 1.5, gamma.shape),
                    rng.normal(0, 0.1, beta.shape),
                    rng.normal(0, 0.1, mean.shape),
                    rng.uniform(0.5, 2.0, var.shape),
                ]
            )
    inputs = keras.Input(backbone.input_shape[1:], name="image")
    outputs = keras.layers.Dense(n_classes, activation="softmax", name="predictions")(
        keras.layers.Dropout(0.3, name="head_dropout")(backbone(inputs))
    )
    return keras.Model(inputs, outputs, name="tiny")


def test_state_dict_has_the_checkpoints_layout():
    """Every key and shape of the real Lite0 ImageNet checkpoint, the head sized for our classes."""
    ours = model_state_dict(_classifier())
    theirs = load_state_dict(bundled_lite_checkpoint(0))
    body = {k for k in theirs if not k.startswith("_fc.") and not k.endswith("num_batches_tracked")}
    assert set(ours) == body | {"_fc.weight", "_fc.bias"}
    assert all(ours[k].shape == theirs[k].shape for k in body)
    assert ours["_fc.weight"].shape == (3, 1280) and ours["_fc.bias"].shape == (3,)
    assert all(v.dtype == np.float32 and v.flags["C_CONTIGUOUS"] for v in ours.values())


def test_keras_weights_and_state_dict_are_inverse():
    state = load_state_dict(bundled_lite_checkpoint(1))
    again = state_dict(keras_weights(state, 1), 1)
    for key, value in again.items():
        np.testing.assert_array_equal(value, state[key], err_msg=key)


@pytest.mark.slow
def test_weights_travel_out_and_back_unchanged():
    source, target = _classifier(seed=1), _classifier(seed=2)
    images = np.random.default_rng(3).uniform(0, 255, (2, 224, 224, 3)).astype(np.float32)
    assert not np.allclose(source.predict(images, verbose=0), target.predict(images, verbose=0))
    load_model_state_dict(target, model_state_dict(source))
    np.testing.assert_array_equal(source.predict(images, verbose=0), target.predict(images, verbose=0))


def test_weights_that_do_not_fit_are_one_clear_error():
    model = _classifier()
    state = model_state_dict(model)
    with pytest.raises(VidclfError, match="missing '_blocks.3._bn1.weight'"):
        load_model_state_dict(model, {k: v for k, v in state.items() if k != "_blocks.3._bn1.weight"})
    with pytest.raises(VidclfError, match="weights do not fit"):  # 5 classes into a 3-class head
        load_model_state_dict(model, model_state_dict(_classifier(n_classes=5)))
    import keras

    plain = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, name="predictions")])
    with pytest.raises(VidclfError, match="no EfficientNet-Lite backbone"):
        model_state_dict(plain)


@pytest.fixture(scope="module")
def packed(tmp_path_factory, shared):
    """A 3-class model packed from a 6-images-a-class split of the sports photos."""
    root = tmp_path_factory.mktemp("pack")
    model = _classifier(seed=4)
    model.save(root / "tiny.keras")
    (root / "tiny.labels.json").write_text(json.dumps(CLASSES))
    config = root / "config.yaml"
    config.write_text(
        f"train:\n  data_dir: {SPORTS}\n  classes: [{', '.join(CLASSES)}]\n  max_images_per_class: 6\n"
        "  val_fraction: 0.34\n  test_fraction: 0.17\n"
    )
    result = run_cli(
        PACK,
        str(root / "pack"),
        "--config",
        str(config),
        "--init-model",
        str(root / "tiny.keras"),
        "--chunk-mb",
        "0.05",
        "--val-every",
        "1",
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return root, model


@pytest.mark.slow
def test_pack_holds_the_split_without_its_test_photos(packed):
    root, _model = packed
    meta = json.loads((root / "pack" / "meta.json").read_text())
    assert meta["classes"] == CLASSES and meta["input_size"] == 224 and meta["variant"] == 0
    assert len(meta["data_files"]) >= 2  # 0.05 MB chunks: the images are spread over several files
    counts = {"train": 0, "val": 0}
    labels = {"train": [], "val": []}
    for name in meta["data_files"]:
        data = np.load(root / "pack" / name)
        for part in counts:
            offsets = data[f"{part}_offsets"]
            assert len(offsets) == len(data[f"{part}_labels"]) + 1
            for i in range(len(offsets) - 1):
                image = cv2.imdecode(data[f"{part}_bytes"][offsets[i] : offsets[i + 1]], cv2.IMREAD_COLOR)
                assert image is not None and image.ndim == 3 and min(image.shape[:2]) >= 100
            counts[part] += len(offsets) - 1
            labels[part] += data[f"{part}_labels"].tolist()
    # 6 a class: 2 val, 1 test (never packed), 3 train
    assert counts == {"train": 9, "val": 6} == {"train": meta["train_images"], "val": meta["val_images"]}
    assert sorted(labels["train"]) == [0, 0, 0, 1, 1, 1, 2, 2, 2] and sorted(labels["val"]) == [0, 0, 1, 1, 2, 2]
    assert meta["class_weights"] == pytest.approx([1.0, 1.0, 1.0])


@pytest.mark.slow
def test_check_images_carry_the_models_own_probabilities(packed):
    root, model = packed
    check = np.load(root / "pack" / "check.npz")
    assert check["images"].dtype == np.uint8 and check["images"].shape[1:] == (224, 224, 3)
    np.testing.assert_allclose(check["probabilities"], model.predict(check["images"].astype(np.float32), verbose=0), atol=1e-5)


@pytest.mark.slow
def test_unpack_brings_the_packed_weights_back(packed, tmp_path):
    """start.npz (float16) -> unpack.py -> the same model, up to float16 rounding."""
    import keras

    root, model = packed
    result = run_cli(UNPACK, str(root / "pack" / "start.npz"), str(tmp_path / "back.keras"), "--like", str(root / "tiny.keras"))
    assert result.returncode == 0, result.stderr
    back = keras.saving.load_model(tmp_path / "back.keras", compile=False)
    assert json.loads((tmp_path / "back.labels.json").read_text()) == CLASSES
    for ours, theirs in zip(model.weights, back.weights, strict=True):
        np.testing.assert_allclose(theirs.numpy(), ours.numpy().astype(np.float16).astype(np.float32), rtol=0, atol=1e-6)


@pytest.mark.slow
def test_pack_and_unpack_answer_bad_input_with_one_line(tmp_path):
    result = run_cli(PACK, str(tmp_path / "p"), "--init-model", str(tmp_path / "missing.keras"))
    assert_one_line_error(result, "missing.keras")
    assert not (tmp_path / "p").exists()
    like = str(ROOT / "models" / "sports22.keras")
    assert_one_line_error(
        run_cli(UNPACK, str(tmp_path / "none.npz"), str(tmp_path / "x.keras"), "--like", like), "weights not found"
    )
    (tmp_path / "bad.npz").write_bytes(b"not a numpy file")
    assert_one_line_error(run_cli(UNPACK, str(tmp_path / "bad.npz"), str(tmp_path / "x.keras"), "--like", like), "bad.npz")
    assert not (tmp_path / "x.keras").exists()
