"""The pictures: label timelines (a run, an evaluated clip), training curves and the
confusion matrix, drawn with matplotlib.

matplotlib comes with the ``train`` extra (or ``pip install matplotlib``); the runtime
install does without it and says so when a picture is asked for. Figures are drawn on the
Agg canvas directly (no pyplot): no global state, no display needed, safe on any thread.

Usage::

    from vidclf.plots import label_timeline, training_curves, confusion_matrix_png
    label_timeline([("shown", times, labels)], "run.png", confidence=(times, conf), threshold=0.7)
    training_curves(history, "plot.png", fine_tune_from=40)
    confusion_matrix_png(matrix, class_names, "confusion_matrix.png")
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from vidclf.core.palette import label_colour as palette_colour
from vidclf.core.palette import rgb
from vidclf.errors import VidclfError


def available() -> bool:
    """Is matplotlib installed (the runtime install does without it)?"""
    return importlib.util.find_spec("matplotlib") is not None


def _figure(width_in: float, height_in: float):
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise VidclfError("pictures need matplotlib: pip install matplotlib (or 'vidclf[train]')") from None
    figure = Figure(figsize=(width_in, height_in), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _save(figure, path: str | Path) -> Path:
    path = Path(path)
    try:
        figure.savefig(path)
    except (OSError, ValueError) as exc:
        raise VidclfError(f"cannot write picture {path}: {getattr(exc, 'strerror', None) or exc}") from None
    return path


def label_colour(label: str, labels: Sequence[str] = ()) -> tuple[float, float, float]:
    """``label``'s colour for matplotlib: the one palette (:mod:`vidclf.core.palette`) the browser
    view uses too; ``labels`` (the model's) gives every class its own."""
    return rgb(palette_colour(label, labels))


def _runs(times: Sequence[float], labels: Sequence[str]) -> list[tuple[float, float, str]]:
    """(start, end, label) runs; each frame lasts until the next one's time."""
    runs: list[tuple[float, float, str]] = []
    for i, label in enumerate(labels):
        end = times[i + 1] if i + 1 < len(times) else times[i] + (times[i] - times[i - 1] if i else 1 / 30)
        if runs and runs[-1][2] == label:
            runs[-1] = (runs[-1][0], end, label)
        else:
            runs.append((times[i], end, label))
    return runs


def label_timeline(
    strips: Sequence[tuple[str, Sequence[float], Sequence[str]]],
    path: str | Path,
    confidence: tuple[Sequence[float], Sequence[float]] | None = None,
    threshold: float | None = None,
    title: str = "",
    class_names: Sequence[str] = (),
) -> Path:
    """Label strips over time (e.g. truth / shown / raw top-1), then the confidence curve
    with the ``uncertain`` threshold, and a legend of every label that appears; colours by
    each label's place in ``class_names`` (the model's labels)."""
    rows = len(strips) + (1 if confidence is not None else 0)
    figure = _figure(10, 0.55 * len(strips) + (1.6 if confidence is not None else 0) + 0.9)
    heights = [1] * len(strips) + ([3] if confidence is not None else [])
    axes = figure.subplots(rows, 1, sharex=True, gridspec_kw={"height_ratios": heights}, squeeze=False)[:, 0]
    seen: dict[str, tuple] = {}
    span = [float("inf"), float("-inf")]
    for ax, (name, times, labels) in zip(axes, strips, strict=False):
        for start, end, label in _runs(times, labels):
            span = [min(span[0], start), max(span[1], end)]
            ax.axvspan(start, end, color=label_colour(label, class_names), linewidth=0)
            seen.setdefault(label, label_colour(label, class_names))
        ax.set_yticks([])
        ax.set_ylabel(name, rotation=0, ha="right", va="center")
    if confidence is not None:
        ax = axes[-1]
        ax.plot(confidence[0], confidence[1], color="0.2", linewidth=0.8)
        if threshold:
            ax.axhline(threshold, color="tab:red", linewidth=0.8, linestyle="--", label=f"uncertain below {threshold:g}")
        ax.set_ylim(0, 1)
        ax.set_ylabel("confidence")
    if span[0] < span[1]:
        axes[-1].set_xlim(*span)
    axes[-1].set_xlabel("time (s)")
    if title:
        axes[0].set_title(title, fontsize=10)
    from matplotlib.patches import Patch

    handles = [Patch(color=colour, label=label) for label, colour in sorted(seen.items())]
    figure.legend(handles=handles, loc="outside lower center", ncols=min(6, max(1, len(handles))), fontsize=8, frameon=False)
    return _save(figure, path)


def training_curves(history: dict[str, list[float]], path: str | Path, fine_tune_from: int | None = None) -> Path:
    """Loss and accuracy per epoch (train and validation); a dashed line where fine-tuning
    of the backbone starts (``fine_tune_from`` = epochs before it)."""
    figure = _figure(10, 3.6)
    axes = figure.subplots(1, 2)
    for ax, metric in zip(axes, ("loss", "accuracy"), strict=True):
        for key, style in ((metric, "-"), (f"val_{metric}", "--")):
            values = history.get(key)
            if values:
                ax.plot(range(1, len(values) + 1), values, style, label=key.replace("_", " "))
        if fine_tune_from:
            ax.axvline(fine_tune_from + 0.5, color="0.4", linewidth=0.8, linestyle=":", label="fine-tuning starts")
        ax.set_xlabel("epoch")
        ax.set_title(metric)
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=8)
    return _save(figure, path)


def confusion_matrix_png(matrix: np.ndarray, class_names: Sequence[str], path: str | Path) -> Path:
    """Row-normalised confusion matrix (true class per row) with the counts written in."""
    matrix = np.asarray(matrix)
    n = len(class_names)
    size = max(4.0, 0.42 * n + 2)
    figure = _figure(size, size)
    ax = figure.subplots()
    shares = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    image = ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(n), class_names, rotation=90, fontsize=8)
    ax.set_yticks(range(n), class_names, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(n):
        for j in range(n):
            if matrix[i, j]:
                ax.text(
                    j,
                    i,
                    str(int(matrix[i, j])),
                    ha="center",
                    va="center",
                    fontsize=6,
                    color="white" if shares[i, j] > 0.5 else "black",
                )
    figure.colorbar(image, ax=ax, fraction=0.046, label="share of the true class")
    return _save(figure, path)
