"""Evaluation reports for a trained classifier: metrics, confusion matrix, curves plot.

The plot is drawn with OpenCV (already a dependency) rather than matplotlib: two panels,
loss and accuracy per epoch, train and validation.

Usage::

    from vidclf.training.report import classification_report, plot_history
    text, summary = classification_report(y_true, y_pred, class_names)
    plot_history({"loss": [...], "val_loss": [...], "accuracy": [...], "val_accuracy": [...]}, "plot.png")
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Rows: true class; columns: predicted class."""
    matrix = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(matrix, (y_true, y_pred), 1)
    return matrix


def classification_report(y_true: np.ndarray, y_pred: np.ndarray, class_names: list[str]) -> tuple[str, dict]:
    """Per-class precision/recall/F1 as text (sklearn's layout) and as a dict."""
    matrix = confusion_matrix(y_true, y_pred, len(class_names))
    tp = np.diag(matrix).astype(float)
    support = matrix.sum(axis=1)
    predicted = matrix.sum(axis=0)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, support, out=np.zeros_like(tp), where=support > 0)
    f1 = np.divide(2 * precision * recall, precision + recall, out=np.zeros_like(tp), where=(precision + recall) > 0)
    accuracy = float(tp.sum() / max(1, support.sum()))
    width = max(12, *(len(n) for n in class_names))
    lines = [f"{'':>{width}}  precision    recall  f1-score   support", ""]
    for i, name in enumerate(class_names):
        lines.append(f"{name:>{width}}  {precision[i]:9.3f} {recall[i]:9.3f} {f1[i]:9.3f} {support[i]:9d}")
    lines += ["", f"{'accuracy':>{width}}  {'':9} {'':9} {accuracy:9.3f} {support.sum():9d}"]
    lines.append(f"{'macro avg':>{width}}  {precision.mean():9.3f} {recall.mean():9.3f} {f1.mean():9.3f} {support.sum():9d}")
    summary = {
        "accuracy": accuracy,
        "macro_f1": float(f1.mean()),
        "per_class": {
            n: {"precision": float(precision[i]), "recall": float(recall[i]), "f1": float(f1[i]), "support": int(support[i])}
            for i, n in enumerate(class_names)
        },
        "confusion_matrix": matrix.tolist(),
    }
    return "\n".join(lines) + "\n", summary


def write_confusion_csv(matrix: np.ndarray, class_names: list[str], path: str | Path) -> None:
    rows = ["true\\pred," + ",".join(class_names)]
    rows += [f"{name}," + ",".join(str(v) for v in matrix[i]) for i, name in enumerate(class_names)]
    Path(path).write_text("\n".join(rows) + "\n")


def _panel(series: dict[str, list[float]], title: str, size: tuple[int, int]) -> np.ndarray:
    w, h = size
    img = np.full((h, w, 3), 255, np.uint8)
    left, right, top, bottom = 60, 20, 40, 40
    values = [v for s in series.values() for v in s]
    lo, hi = (min(values), max(values)) if values else (0.0, 1.0)
    if hi - lo < 1e-9:
        hi = lo + 1.0
    n = max((len(s) for s in series.values()), default=1)
    cv2.putText(img, title, (left, 25), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.rectangle(img, (left, top), (w - right, h - bottom), (0, 0, 0), 1)
    for frac in (0.0, 0.5, 1.0):
        y = int(h - bottom - frac * (h - top - bottom))
        cv2.putText(img, f"{lo + frac * (hi - lo):.3f}", (2, y + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(img, f"epoch 1..{n}", (left, h - 12), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    colours = [(200, 80, 0), (0, 120, 255), (0, 160, 0), (180, 0, 180)]
    for k, (name, data) in enumerate(series.items()):
        colour = colours[k % len(colours)]
        pts = [
            (int(left + (i / max(1, n - 1)) * (w - left - right)), int(h - bottom - (v - lo) / (hi - lo) * (h - top - bottom)))
            for i, v in enumerate(data)
        ]
        if len(pts) > 1:
            cv2.polylines(img, [np.array(pts, np.int32)], False, colour, 2, cv2.LINE_AA)
        cv2.putText(img, name, (w - right - 150, top + 20 + 18 * k), cv2.FONT_HERSHEY_SIMPLEX, 0.5, colour, 1, cv2.LINE_AA)
    return img


def plot_history(history: dict[str, list[float]], path: str | Path) -> Path:
    """Write ``plot.png``: loss (left) and accuracy (right), train and validation curves."""
    loss = {k: v for k, v in history.items() if k in ("loss", "val_loss")}
    acc = {k: v for k, v in history.items() if k in ("accuracy", "val_accuracy")}
    image = np.hstack([_panel(loss, "loss", (480, 360)), _panel(acc, "accuracy", (480, 360))])
    path = Path(path)
    cv2.imwrite(str(path), image)
    return path
