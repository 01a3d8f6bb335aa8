"""Full-integer ONNX models: int8 weights *and* activations, for the fastest CPU inference.

Why ONNX Runtime for this and not LiteRT: on the project's x86 CPUs (AVX2, no VNNI) LiteRT's
int8 kernels run no faster than its float ones (full-integer ``.tflite``: 66 vs 66 frames/s on
one thread; the dynamic-range ``.int8.tflite`` is slower still), while onnxruntime's run the
shipped model in 10-11 CPU ms a frame instead of 14-15 (``bench/bench_int8.py``).

The scheme, each choice measured on the shipped model against its float file (top-1 agreement
on 1,411 test photos):

- static QDQ quantisation calibrated on a few hundred photos; activations uint8, weights int8
  per output channel;
- weights of the convolutions that are not depthwise get 7 bits. AVX2 without VNNI multiplies
  uint8 x int8 pairs with ``vpmaddubsw``, whose 16-bit sums saturate when both factors are large
  (255 x 127 x 2 > 32767): 8-bit weights agreed on 0.935 of the photos, 7-bit ones on 0.967
  (7 bits everywhere, depthwise too: 0.962; uint8 weights avoid the overflow but have no fast
  kernel: 84 ms a frame);
- the classifier head (``Gemm`` or ``MatMul``, ``Softmax``) stays float: a few thousand multiply-adds, and
  the last place where rounding would show.

Usage::

    from vidclf.training.quantize import quantize_onnx
    quantize_onnx("runs/x/x.onnx", "runs/x/x.int8.onnx", calibration_images)   # uint8 NHWC RGB
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from pathlib import Path

import numpy as np

from vidclf.errors import VidclfError

FLOAT_OPS = ("Gemm", "MatMul", "Softmax")


def _weight_overrides(model) -> dict:
    """7-bit (``reduce_range``) per-channel weights for every convolution that is not depthwise."""
    initializers = {init.name: init for init in model.graph.initializer}
    overrides = {}
    for node in model.graph.node:
        if node.op_type != "Conv" or len(node.input) < 2 or node.input[1] not in initializers:
            continue
        group = next((attr.i for attr in node.attribute if attr.name == "group"), 1)
        weight = initializers[node.input[1]]
        if group == 1:  # a depthwise convolution has one group per input channel
            channels = weight.dims[0]
            overrides[node.input[1]] = [{"reduce_range": True, **({"axis": 0} if c == 0 else {})} for c in range(channels)]
    return overrides


def quantize_onnx(float_path: str | Path, out_path: str | Path, calibration: np.ndarray) -> Path:
    """Write ``out_path``: ``float_path`` statically quantised, calibrated on ``calibration``
    (uint8 NHWC RGB images at the model's input size; a few hundred photos are enough)."""
    try:
        import onnx
        from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
        from onnxruntime.quantization.shape_inference import quant_pre_process
    except ImportError:
        raise VidclfError("int8 ONNX export needs onnx and onnxruntime: pip install onnxruntime tf2onnx") from None
    if len(calibration) == 0:
        raise VidclfError("int8 ONNX export needs calibration images; none were read")
    out_path = Path(out_path)
    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        quant_pre_process(str(float_path), str(prepared))  # shape inference + graph clean-up first, as ORT advises
        model = onnx.load(str(prepared))
        input_name = model.graph.input[0].name
        images = calibration.astype(np.float32)

        class Reader(CalibrationDataReader):
            def __init__(self) -> None:
                self.index = 0

            def get_next(self) -> dict | None:
                if self.index >= len(images):
                    return None
                self.index += 1
                return {input_name: images[self.index - 1 : self.index]}

        keep_float = [node.name for node in model.graph.node if node.op_type in FLOAT_OPS]
        # onnxruntime's quantiser logs a line per tensor at INFO; keep the console readable.
        quiet = logging.getLogger().level
        logging.getLogger().setLevel(logging.WARNING)
        try:
            with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
                quantize_static(
                    str(prepared),
                    str(out_path),
                    Reader(),
                    quant_format=QuantFormat.QDQ,
                    per_channel=True,
                    activation_type=QuantType.QUInt8,
                    weight_type=QuantType.QInt8,
                    nodes_to_exclude=keep_float,
                    extra_options={"TensorQuantOverrides": _weight_overrides(model)},
                )
        except Exception as exc:  # the quantiser raises many types; its first line says what failed
            raise VidclfError(f"int8 quantisation failed: {str(exc).strip().splitlines()[0][:200]}") from None
        finally:
            logging.getLogger().setLevel(quiet)
    return out_path
