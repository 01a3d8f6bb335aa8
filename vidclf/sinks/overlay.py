"""The overlay: label, confidence, top-k bars and FPS drawn on a frame.

:func:`draw_overlay` is a pure function (frame + prediction -> annotated copy), so the
recording, the window, the browser view and the tests all see exactly the same picture.

Usage::

    annotated = draw_overlay(prediction, labels, k=3, fps=29.7)
"""

from __future__ import annotations

import cv2
import numpy as np

from vidclf.core.messages import Prediction

_FONT = cv2.FONT_HERSHEY_SIMPLEX
_BAR_COLOUR = (60, 180, 75)
_TEXT_COLOUR = (255, 255, 255)
_CAPTION_COLOUR = (190, 190, 190)


def top_k(probs: np.ndarray, labels: list[str], k: int) -> list[tuple[str, float]]:
    order = np.argsort(-probs)[:k]
    return [(labels[i], float(probs[i])) for i in order]


def draw_overlay(prediction: Prediction, labels: list[str], k: int = 3, fps: float | None = None, status: str = "") -> np.ndarray:
    """Return a copy of the frame with the smoothed label, the smoothed top-k bars (captioned as
    such) and FPS drawn on it."""
    image = prediction.frame.image.copy()
    h, w = image.shape[:2]
    scale = max(0.4, min(1.2, w / 900))
    line = int(28 * scale) + 6
    caption_y = line * (k + 1) + int(24 * scale)
    panel_h = caption_y + 8
    panel_w = min(w, int(360 * scale) + 20)
    # translucent panel: readable text on any background
    roi = image[0:panel_h, 0:panel_w]
    cv2.addWeighted(roi, 0.35, np.zeros_like(roi), 0.65, 0, dst=roi)
    title = f"{prediction.label} {prediction.confidence:.0%}"
    cv2.putText(image, title, (8, line), _FONT, 0.9 * scale, _TEXT_COLOUR, 2, cv2.LINE_AA)
    bar_max = panel_w - int(170 * scale) - 16
    for row, (name, p) in enumerate(top_k(prediction.smoothed, labels, k), start=1):
        y = line * (row + 1)
        cv2.putText(image, f"{name[:14]:<14}", (8, y), _FONT, 0.55 * scale, _TEXT_COLOUR, 1, cv2.LINE_AA)
        x0 = int(170 * scale)
        cv2.rectangle(image, (x0, y - int(14 * scale)), (x0 + max(1, int(bar_max * p)), y), _BAR_COLOUR, -1)
        cv2.putText(image, f"{p:.2f}", (x0 + 4, y - 2), _FONT, 0.45 * scale, _TEXT_COLOUR, 1, cv2.LINE_AA)
    # the bars are the smoothed prediction; the browser page's side panel shows the raw one
    cv2.putText(image, "smoothed top-k", (8, caption_y), _FONT, 0.42 * scale, _CAPTION_COLOUR, 1, cv2.LINE_AA)
    footer = f"{fps:.1f} FPS" if fps else ""
    if status:
        footer = f"{footer}  {status}".strip()
    if footer:
        cv2.putText(image, footer, (8, h - 10), _FONT, 0.55 * scale, (0, 255, 255), 1, cv2.LINE_AA)
    return image
