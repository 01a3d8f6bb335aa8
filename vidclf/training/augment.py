"""Augmentation that makes training photos look like video frames.

Web photos are close-ups, sharp, well exposed and roughly square; video frames are wide
shots (4:3 ... 16:9, or 9:16 from a phone), soft, compressed, blurred by motion, with the
action often small in the frame. :func:`video_frame` turns a photo into such a frame; the
training loop then calls the same :func:`vidclf.runtime.preprocess.prepare_image` as streaming,
so the model learns the squashed wide frames it will be shown.

Each step is applied at random: framing (zoom in with a random crop, or zoom out with the
photo placed smaller on a blurred, enlarged copy of itself), aspect (portrait 9:16 to wide
16:9), downscale blur, motion blur, JPEG artefacts, brightness / contrast / saturation, and a
horizontal flip. Written with OpenCV and NumPy: a few lines each, on the same arrays the
pipeline uses (albumentations would add a dependency for the same handful of operations).

Usage::

    rng = np.random.default_rng(0)
    frame = video_frame(photo_bgr, rng)               # a wide, soft, compressed BGR frame
    x = prepare_image(frame, 224)                      # exactly what streaming does next
"""

from __future__ import annotations

import cv2
import numpy as np

FRAME_HEIGHT = 270  # frames are built at this height: enough detail for a 224-260 input
ASPECTS = (9 / 16, 3 / 4, 1.0, 4 / 3, 16 / 9)
ASPECT_WEIGHTS = (0.1, 0.05, 0.1, 0.3, 0.45)  # mostly wide, as broadcast and phone-landscape video is


def _frame_of_aspect(image: np.ndarray, aspect: float, rng: np.random.Generator) -> np.ndarray:
    """Reframe ``image`` to width/height = ``aspect``: zoom in (random crop) or zoom out
    (the photo smaller, on a blurred enlargement of itself — a wider view of the same scene)."""
    h, w = image.shape[:2]
    out_h = FRAME_HEIGHT
    out_w = max(8, int(round(out_h * aspect)))
    if rng.random() < 0.4:  # zoom out: the action fills 45-90 % of the frame's height
        background = cv2.GaussianBlur(cv2.resize(image, (out_w, out_h)), (0, 0), 12)
        scale = rng.uniform(0.45, 0.9) * min(out_h / h, out_w / w)
        nw, nh = max(2, int(w * scale)), max(2, int(h * scale))
        x, y = rng.integers(0, out_w - nw + 1), rng.integers(0, out_h - nh + 1)
        background[y : y + nh, x : x + nw] = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_AREA)
        return background
    # zoom in: a crop of the target aspect covering 45-100 % of the largest one that fits
    crop_w, crop_h = (w, int(w / aspect)) if w / h < aspect else (int(h * aspect), h)
    area = rng.uniform(0.45, 1.0)
    cw, ch = max(2, int(crop_w * np.sqrt(area))), max(2, int(crop_h * np.sqrt(area)))
    x, y = rng.integers(0, w - cw + 1), rng.integers(0, h - ch + 1)
    crop = image[y : y + ch, x : x + cw]
    return cv2.resize(crop, (out_w, out_h), interpolation=cv2.INTER_AREA if ch > out_h else cv2.INTER_LINEAR)


def _motion_blur(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    length = int(rng.integers(3, 12))
    kernel = np.zeros((length, length), np.float32)
    kernel[length // 2, :] = 1.0 / length
    rotation = cv2.getRotationMatrix2D((length / 2 - 0.5, length / 2 - 0.5), float(rng.uniform(0, 180)), 1.0)
    kernel = cv2.warpAffine(kernel, rotation, (length, length))
    return cv2.filter2D(image, -1, kernel / max(kernel.sum(), 1e-6))


def _colour(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    hsv = cv2.cvtColor(image, cv2.COLOR_BGR2HSV).astype(np.float32)
    hsv[..., 1] *= rng.uniform(0.6, 1.3)
    hsv[..., 2] = hsv[..., 2] * rng.uniform(0.7, 1.25) + rng.uniform(-25, 25)
    return cv2.cvtColor(np.clip(hsv, 0, 255).astype(np.uint8), cv2.COLOR_HSV2BGR)


def video_frame(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random video-like BGR frame made from the BGR photo ``image``."""
    frame = _frame_of_aspect(image, float(rng.choice(ASPECTS, p=ASPECT_WEIGHTS)), rng)
    if rng.random() < 0.5:
        frame = frame[:, ::-1]
    if rng.random() < 0.5:  # a low-resolution source, upscaled by the player
        h, w = frame.shape[:2]
        factor = rng.uniform(0.25, 0.6)
        small = cv2.resize(frame, (max(2, int(w * factor)), max(2, int(h * factor))), interpolation=cv2.INTER_AREA)
        frame = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    if rng.random() < 0.3:
        frame = _motion_blur(frame, rng)
    if rng.random() < 0.8:
        frame = _colour(frame, rng)
    if rng.random() < 0.6:  # streaming / broadcast compression
        ok, data = cv2.imencode(".jpg", np.ascontiguousarray(frame), [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(15, 60))])
        if ok:
            frame = cv2.imdecode(data, cv2.IMREAD_COLOR)
    return np.ascontiguousarray(frame)
