"""The one image preparation step shared by training, evaluation and streaming.

Models built by :mod:`vidclf.training.trainer` take RGB float32 in [0, 255] at a fixed square size
and normalise inside the model. What stays outside is how a frame of any shape meets that
square, and the BGR -> RGB swap: training, the predictor (and so evaluation) all call
:func:`prepare_image`, so they cannot drift apart.

A 16:9 video frame meets a square input in one of two ways (``fit``):

* ``squash`` (default) — resize the whole frame to the square: nothing is lost, everything
  is narrower. Training squashes its photos the same way, and its video augmentation
  (:mod:`vidclf.training.augment`) widens them to 4:3 ... 16:9 first, so the model learns squashed
  wide frames.
* ``crop`` — the largest centred square: no distortion, but the sides of a wide shot
  (often where the ball, the net or the hoop is) are gone.

Usage::

    import cv2
    from vidclf.runtime.preprocess import prepare_image
    rgb = prepare_image(cv2.imread("photo.jpg"), 224)   # (224, 224, 3) uint8, RGB
"""

from __future__ import annotations

import cv2
import numpy as np

FITS = ("squash", "crop")


def center_square(bgr: np.ndarray) -> np.ndarray:
    h, w = bgr.shape[:2]
    side = min(h, w)
    y, x = (h - side) // 2, (w - side) // 2
    return bgr[y : y + side, x : x + side]


def prepare_image(bgr: np.ndarray, size: int, fit: str = "squash") -> np.ndarray:
    """Fit an OpenCV BGR image into ``size`` x ``size`` (see ``fit``) and return it as RGB uint8.

    INTER_AREA is used when shrinking because it does not alias.
    """
    if fit == "crop":
        bgr = center_square(bgr)
    elif fit != "squash":
        raise ValueError(f"unknown fit {fit!r}: use one of {', '.join(FITS)}")
    h, w = bgr.shape[:2]
    interpolation = cv2.INTER_AREA if (h > size or w > size) else cv2.INTER_LINEAR
    resized = cv2.resize(bgr, (size, size), interpolation=interpolation)
    return cv2.cvtColor(resized, cv2.COLOR_BGR2RGB)
