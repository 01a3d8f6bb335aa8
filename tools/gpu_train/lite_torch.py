"""EfficientNet-Lite + this project's classifier head, in PyTorch, weight for weight the Keras model.

Same graph as :func:`vidclf.training.backbones.efficientnet_lite` plus the ``head_dropout`` /
``predictions`` head: RGB in [0, 255] normalised as ``(x - 127) / 128`` inside, ReLU6, batch
norm with epsilon 1e-3, and TensorFlow's "same" padding (a stride-2 layer pads one pixel more
on the bottom/right than on the top/left, where PyTorch's symmetric padding would shift
every feature map by a pixel and the Keras weights would no longer fit). Parameter names are
those of the Lite checkpoints (``_conv_stem``, ``_blocks.N._bn1``, ``_fc``), so the state dict
is what :mod:`vidclf.training.lite_layout` converts.

Usage::

    model = LiteClassifier(variant=0, n_classes=23)
    model.load_state_dict({k: torch.from_numpy(v) for k, v in np.load("start.npz").items()})
    logits = model(images_uint8_nhwc)      # (N, 23); softmax gives the Keras model's output
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from vidclf.training.lite_layout import BN_EPSILON, HEAD_FILTERS, STEM_FILTERS, blocks  # noqa: E402


class SameConv2d(nn.Conv2d):
    """Conv2d with TensorFlow's "same" padding (asymmetric for even inputs at stride 2)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads = []
        for size, kernel, stride in zip(x.shape[-2:], self.kernel_size, self.stride, strict=True):
            total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
            pads.append((total // 2, total - total // 2))
        (top, bottom), (left, right) = pads
        if top or bottom or left or right:
            x = F.pad(x, (left, right, top, bottom))
        return F.conv2d(x, self.weight, None, self.stride, 0, 1, self.groups)


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=BN_EPSILON, momentum=0.01)  # Keras' momentum 0.99


class MBConv(nn.Module):
    def __init__(self, kernel: int, stride: int, expand: int, in_filters: int, out_filters: int):
        super().__init__()
        hidden = in_filters * expand
        self.expand = expand != 1
        if self.expand:
            self._expand_conv = SameConv2d(in_filters, hidden, 1, bias=False)
            self._bn0 = _bn(hidden)
        self._depthwise_conv = SameConv2d(hidden, hidden, kernel, stride, groups=hidden, bias=False)
        self._bn1 = _bn(hidden)
        self._project_conv = SameConv2d(hidden, out_filters, 1, bias=False)
        self._bn2 = _bn(out_filters)
        self.residual = stride == 1 and in_filters == out_filters

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu6(self._bn0(self._expand_conv(x))) if self.expand else x
        y = F.relu6(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return x + y if self.residual else y


class LiteClassifier(nn.Module):
    """EfficientNet-Lite``variant`` + dropout + a linear head; input NHWC RGB in [0, 255]."""

    def __init__(self, variant: int, n_classes: int, dropout: float = 0.3):
        super().__init__()
        self._conv_stem = SameConv2d(3, STEM_FILTERS, 3, 2, bias=False)
        self._bn0 = _bn(STEM_FILTERS)
        specs = blocks(variant)
        self._blocks = nn.ModuleList(MBConv(*spec) for spec in specs)
        self._conv_head = SameConv2d(specs[-1][-1], HEAD_FILTERS, 1, bias=False)
        self._bn1 = _bn(HEAD_FILTERS)
        self._dropout = nn.Dropout(dropout)
        self._fc = nn.Linear(HEAD_FILTERS, n_classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = (images.permute(0, 3, 1, 2).float() - 127.0) / 128.0
        x = x.contiguous(memory_format=torch.channels_last)
        x = F.relu6(self._bn0(self._conv_stem(x)))
        for block in self._blocks:
            x = block(x)
        x = F.relu6(self._bn1(self._conv_head(x)))
        return self._fc(self._dropout(x.mean((2, 3))))
