"""The one image preparation step shared by training, evaluation and streaming.

Models built by :mod:`vidclf.training.trainer` take RGB float32 in [0, 255] at a fixed square size
and normalise inside the model. What stays outside is how a frame of any shape meets that
square, and the BGR -> RGB swap: training, the predictor (and so evaluation) all call
:func:`prepare_image`, so they cannot drift apart.

A 16:9 video frame meets a square input in one of two ways (``fit``):

* ``crop`` (default, the shipped model's) — the largest centred square: no distortion, but the
  sides of a wide shot (sometimes where the ball, the net or the hoop is) are gone. Measured on
  the validation clips it names frames better (model card).
* ``squash`` — resize the whole frame to the square: nothing is lost, everything is narrower.

Training prepares its photos with the same fit, and its video augmentation
(:mod:`vidclf.training.augment`) reframes them to 9:16 ... 16:9 first, so the model learns frames
as streaming will show them. A model runs best with the fit it was trained with (its
``metrics.json`` says which).

Usage::

    import cv2
    from vidclf.runtime.preprocess import prepare_image
    rgb = prepare_image(cv2.imread("photo.jpg"), 224)   # (224, 224, 3) uint8, RGB
"""

from __future__ import annotations

import cv2
import numpy as np

FITS = ("squash", "crop")
DEFAULT_FIT = "crop"  # the shipped model's; config.yaml's model.input_fit and train.input_fit default to it too


def center_square(bgr: np.ndarray) -> np.ndarray:
    h, w = bgr.shape[:2]
    side = min(h, w)
    y, x = (h - side) // 2, (w - side) // 2
    return bgr[y : y + side, x : x + side]


def shrink(bgr: np.ndarray, width: int, height: int) -> np.ndarray:
    """Resize ``bgr`` to ``width`` x ``height`` without aliasing, at a fraction of INTER_AREA's cost.

    Exact 2x halvings while an axis is at least twice the target, then one bilinear step of
    less than 2x. A bilinear resize by exactly 2 averages each pair of pixels, i.e. it *is* a
    2x box filter (bit-identical to INTER_AREA for 2x2) but faster, and stays fast when only
    one axis halves. One INTER_AREA resize by a non-integer factor costs 1.2-1.6 ms on a 480p
    frame and ~5 ms on 1080p (2-core CPU); this costs 0.1-0.5 ms and differs from it by ~0.5
    grey levels on average (see the model card for what that does to the predictions).

    Usage::

        small = shrink(frame, 224, 224)   # (224, 224, 3), same channel order as frame
    """
    h, w = bgr.shape[:2]
    while h >= 2 * height or w >= 2 * width:
        # A very wide frame halves its width alone; an odd last row/column is dropped so the
        # factor is exactly 2 and each output pixel averages exactly two input pixels.
        fx, fy = (2 if w >= 2 * width else 1), (2 if h >= 2 * height else 1)
        bgr = cv2.resize(bgr[: h // fy * fy, : w // fx * fx], (w // fx, h // fy), interpolation=cv2.INTER_LINEAR)
        h, w = bgr.shape[:2]
    return cv2.resize(bgr, (width, height), interpolation=cv2.INTER_LINEAR)


def prepare_image(bgr: np.ndarray, size: int, fit: str = DEFAULT_FIT) -> np.ndarray:
    """Fit an OpenCV BGR image into ``size`` x ``size`` (see ``fit``) and return it as RGB uint8."""
    if fit == "crop":
        bgr = center_square(bgr)
    elif fit != "squash":
        raise ValueError(f"unknown fit {fit!r}: use one of {', '.join(FITS)}")
    return cv2.cvtColor(shrink(bgr, size, size), cv2.COLOR_BGR2RGB)


GREY_THUMBNAIL = (32, 18)  # enough to see people move, blind to sensor noise and compression


def small_copy(bgr: np.ndarray) -> np.ndarray:
    """A 32x18 BGR copy of ``bgr``: every (width // 64)-th pixel is sampled, then area-shrunk.
    :func:`grey_thumbnail` of this copy equals that of the frame (replays keep only the copy)."""
    step = max(1, bgr.shape[1] // 64)
    sampled = np.ascontiguousarray(bgr[::step, ::step]) if step > 1 else bgr
    return cv2.resize(sampled, GREY_THUMBNAIL, interpolation=cv2.INTER_AREA)


def grey_thumbnail(bgr: np.ndarray) -> np.ndarray:
    """A 32x18 grey copy of ``bgr`` (float32, 0-255) for telling pictures apart cheaply
    (about 0.05 ms at any size)."""
    return cv2.cvtColor(small_copy(bgr), cv2.COLOR_BGR2GRAY).astype(np.float32)


def picture_change(a: np.ndarray, b: np.ndarray) -> float:
    """How different two :func:`grey_thumbnail` copies are: mean absolute difference, 0-1."""
    return float(np.mean(np.abs(a - b))) / 255.0


COLOUR_THUMBNAIL = (64, 36)  # scene cuts: blind to noise and small motion, not to a new shot


def colour_signature(bgr: np.ndarray) -> np.ndarray:
    """Normalised 16x8 hue/saturation histogram of a small copy of ``bgr`` (scene cuts)."""
    small = shrink(bgr, *COLOUR_THUMBNAIL)
    hsv = cv2.cvtColor(small, cv2.COLOR_BGR2HSV)
    hist = cv2.calcHist([hsv], [0, 1], None, [16, 8], [0, 180, 0, 256])
    return cv2.normalize(hist, hist, norm_type=cv2.NORM_L1).astype(np.float32)


def colour_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Bhattacharyya distance of two :func:`colour_signature` histograms: 0 same, 1 disjoint."""
    return float(cv2.compareHist(a, b, cv2.HISTCMP_BHATTACHARYYA))
