"""The one image preparation step shared by training and inference.

Models built by :mod:`vidclf.training` take RGB float32 in [0, 255] at a fixed square size
and normalise inside the model. What stays outside is the resize and the BGR -> RGB swap,
and both training and the predictor call :func:`prepare_image`, so they cannot drift apart.

Usage::

    import cv2
    from vidclf.preprocess import prepare_image
    rgb = prepare_image(cv2.imread("photo.jpg"), 224)   # (224, 224, 3) uint8, RGB
"""

from __future__ import annotations

import cv2
import numpy as np


def prepare_image(bgr: np.ndarray, size: int) -> np.ndarray:
    """Resize an OpenCV BGR image to ``size`` x ``size`` and return it as RGB uint8.

    The aspect ratio is not kept (the whole frame is seen, as in the original recipe);
    INTER_AREA is used when shrinking because it does not alias.
    """
    h, w = bgr.shape[:2]
    interpolation = cv2.INTER_AREA if (h > size or w > size) else cv2.INTER_LINEAR
    resized = cv2.resize(bgr, (size, size), interpolation=interpolation)
    return cv2.cvtColor(resized, cv2.COLOR_BGR2RGB)
