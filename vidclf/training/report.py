"""Evaluation reports for a trained classifier: metrics and the confusion matrix (the
pictures are drawn by :mod:`vidclf.plots`).

Usage::

    from vidclf.training.report import classification_report
    text, summary = classification_report(y_true, y_pred, class_names)
"""

from __future__ import annotations

from pathlib import Path

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
