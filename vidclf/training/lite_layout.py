"""EfficientNet-Lite's shape, and its weights in the PyTorch layout, with NumPy only.

The Lite ImageNet checkpoints are PyTorch state dicts (``_conv_stem.weight``, ``_blocks.3._bn1.running_var``,
...); the Keras graph of :func:`vidclf.training.backbones.efficientnet_lite` names its layers
``stem_conv``, ``block3_dw_bn``, ... This module holds the stage table both are built from and
the one table that pairs their weights, so weights travel both ways:

* :func:`keras_weights` — state dict -> {Keras layer name: weights} (loading ImageNet weights);
* :func:`state_dict` — {Keras layer name: weights} -> state dict, e.g. to fine-tune a model of
  this project elsewhere (``tools/gpu_train``, PyTorch on a GPU) and bring the result back.

No Keras and no torch here: a PyTorch script on a machine without TensorFlow imports it too.

Usage::

    from vidclf.training.lite_layout import keras_weights, state_dict
    layers = keras_weights(state, variant=0)        # {"stem_conv": [kernel], "stem_bn": [...], ...}
    state = state_dict(layers, variant=0)            # and back, bit for bit
"""

from __future__ import annotations

import numpy as np

# Stage tables, (repeats, kernel, stride, expand ratio, output channels), from
# efficientnet_lite_builder.py; Lite keeps the stem (32) and head (1280) fixed when it scales.
LITE_STAGES = {
    0: [(1, 3, 1, 1, 16), (2, 3, 2, 6, 24), (2, 5, 2, 6, 40), (3, 3, 2, 6, 80),
        (3, 5, 1, 6, 112), (4, 5, 2, 6, 192), (1, 3, 1, 6, 320)],
    1: [(1, 3, 1, 1, 16), (3, 3, 2, 6, 24), (3, 5, 2, 6, 40), (4, 3, 2, 6, 80),
        (4, 5, 1, 6, 112), (5, 5, 2, 6, 192), (1, 3, 1, 6, 320)],
    2: [(1, 3, 1, 1, 16), (3, 3, 2, 6, 24), (3, 5, 2, 6, 48), (4, 3, 2, 6, 88),
        (4, 5, 1, 6, 120), (5, 5, 2, 6, 208), (1, 3, 1, 6, 352)],
}  # fmt: skip
STEM_FILTERS, HEAD_FILTERS = 32, 1280
BN_EPSILON = 1e-3  # the TF checkpoints' epsilon, kept by the PyTorch port (torch's default is 1e-5)
BN_PARAMS = ("weight", "bias", "running_mean", "running_var")  # = Keras' gamma, beta, moving mean, moving variance
# The classifier head of this project's models (Dense "predictions") and the ImageNet head
HEADS = {"predictions": "_fc", "imagenet_logits": "_fc"}


def blocks(variant: int) -> list[tuple[int, int, int, int, int]]:
    """One ``(kernel, stride, expand, in_filters, out_filters)`` per MBConv block, in order."""
    out, in_filters = [], STEM_FILTERS
    for repeats, kernel, stride, expand, out_filters in LITE_STAGES[variant]:
        for r in range(repeats):
            out.append((kernel, stride if r == 0 else 1, expand, in_filters, out_filters))
            in_filters = out_filters
    return out


def _layer_table(variant: int) -> dict[str, tuple[str, str]]:
    """Keras layer name -> (state dict prefix, kind); kind: conv, dwconv or bn."""
    table = {"stem_conv": ("_conv_stem", "conv"), "stem_bn": ("_bn0", "bn")}
    for i, (_kernel, _stride, expand, _in, _out) in enumerate(blocks(variant)):
        src, dst = f"_blocks.{i}", f"block{i}"
        if expand != 1:
            table[f"{dst}_expand_conv"] = (f"{src}._expand_conv", "conv")
            table[f"{dst}_expand_bn"] = (f"{src}._bn0", "bn")
        table[f"{dst}_dw_conv"] = (f"{src}._depthwise_conv", "dwconv")
        table[f"{dst}_dw_bn"] = (f"{src}._bn1", "bn")
        table[f"{dst}_project_conv"] = (f"{src}._project_conv", "conv")
        table[f"{dst}_project_bn"] = (f"{src}._bn2", "bn")
    table["head_conv"] = ("_conv_head", "conv")
    table["head_bn"] = ("_bn1", "bn")
    return table


def keras_weights(state: dict[str, np.ndarray], variant: int) -> dict[str, list[np.ndarray]]:
    """Keras layer name -> weights, from a Lite state dict; a classifier head ``_fc`` comes
    back under both head names. Raises ``KeyError`` naming a missing key."""
    out: dict[str, list[np.ndarray]] = {}
    for name, (prefix, kind) in _layer_table(variant).items():
        if kind == "conv":  # (out, in, kh, kw) -> (kh, kw, in, out)
            out[name] = [state[f"{prefix}.weight"].transpose(2, 3, 1, 0)]
        elif kind == "dwconv":  # (c, 1, kh, kw) -> (kh, kw, c, 1)
            out[name] = [state[f"{prefix}.weight"].transpose(2, 3, 0, 1)]
        else:
            out[name] = [state[f"{prefix}.{p}"] for p in BN_PARAMS]
    if "_fc.weight" in state:
        for name, prefix in HEADS.items():
            out[name] = [state[f"{prefix}.weight"].T, state[f"{prefix}.bias"]]
    return out


def state_dict(layers: dict[str, list[np.ndarray]], variant: int) -> dict[str, np.ndarray]:
    """The inverse of :func:`keras_weights`: a Lite state dict (float32, C-contiguous) from
    Keras layer weights; a head under one of :data:`HEADS`' names becomes ``_fc``."""
    state: dict[str, np.ndarray] = {}
    for name, (prefix, kind) in _layer_table(variant).items():
        weights = layers[name]
        if kind == "conv":
            state[f"{prefix}.weight"] = weights[0].transpose(3, 2, 0, 1)
        elif kind == "dwconv":
            state[f"{prefix}.weight"] = weights[0].transpose(2, 3, 0, 1)
        else:
            state.update({f"{prefix}.{p}": w for p, w in zip(BN_PARAMS, weights, strict=True)})
    for name, prefix in HEADS.items():
        if name in layers:
            kernel, bias = layers[name]
            state[f"{prefix}.weight"], state[f"{prefix}.bias"] = kernel.T, bias
    return {key: np.ascontiguousarray(value, dtype=np.float32) for key, value in state.items()}
